"""The staff console on a tablet (issue 16: every screen "usable on a tablet"): the tablet's
browser contexts and one measurement of a page as it is laid out in them.

The measurement is taken in the page itself, on what Chromium laid out, so it judges the
real CSS rather than the templates: sideways scrolling of the whole page, targets smaller
than 24 x 24 CSS px (WCAG 2.2, SC 2.5.8), text under 14 px, text cut off by an
``overflow: hidden`` box, and tables that are not in their own scrolling region (a wide
table scrolls inside a focusable, named region, never the page: how accessible tables
handle narrow screens).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from playwright.async_api import Page

# Portrait and landscape of a 10-inch tablet, in CSS pixels.
TABLET_VIEWPORTS = {"portrait": (768, 1024), "landscape": (1024, 768)}
# Touch, a mobile browser (it honours <meta name="viewport">) and a high-density screen.
TABLET_CONTEXT: dict[str, Any] = {"has_touch": True, "is_mobile": True, "device_scale_factor": 2}
MIN_TARGET_PX = 24  # WCAG 2.2 SC 2.5.8 Target Size (Minimum)
MIN_TEXT_PX = 14

_MEASURE_JS = """
([minTarget, minText]) => {
  const shown = (el) => {
    const box = el.getBoundingClientRect();
    const style = getComputedStyle(el);
    return box.width > 0 && box.height > 0 && style.visibility !== "hidden";
  };
  const name = (el) => (el.getAttribute("aria-label") || el.textContent || el.value ||
    el.getAttribute("name") || "").trim().replace(/\\s+/g, " ").slice(0, 40);
  const describe = (el) => {
    const id = el.id ? "#" + el.id : "";
    const type = el.tagName === "INPUT" ? `[type=${el.type}]` : "";
    return `${el.tagName.toLowerCase()}${id}${type} "${name(el)}"`;
  };
  const size = (box) => `${Math.round(box.width * 10) / 10}x${Math.round(box.height * 10) / 10}`;

  const controls = [...document.querySelectorAll(
    "a[href], button, input:not([type=hidden]), select, textarea, summary")].filter(shown);
  const smallTargets = controls
    .filter((el) => {
      const box = el.getBoundingClientRect();
      return box.width < minTarget || box.height < minTarget;
    })
    .map((el) => `${describe(el)} ${size(el.getBoundingClientRect())}`);

  const all = [...document.body.querySelectorAll("*")];
  const hasText = (el) => [...el.childNodes].some(
    (node) => node.nodeType === Node.TEXT_NODE && node.textContent.trim());
  const isControl = (el) => ["INPUT", "SELECT", "TEXTAREA", "BUTTON"].includes(el.tagName);
  const smallText = all
    .filter((el) => (hasText(el) || isControl(el)) && shown(el))
    .filter((el) => parseFloat(getComputedStyle(el).fontSize) < minText)
    .map((el) => `${describe(el)} ${getComputedStyle(el).fontSize}`);

  // A visually hidden live region is clipped on purpose (it is for screen readers).
  const clips = (value) => value === "hidden" || value === "clip";
  const cutOff = all
    .filter((el) => !el.closest(".visually-hidden") && shown(el))
    .filter((el) => {
      const style = getComputedStyle(el);
      return (clips(style.overflowX) || clips(style.overflowY)) &&
        el.scrollWidth > el.clientWidth + 1;
    })
    .map((el) => `${describe(el)} ${el.scrollWidth} > ${el.clientWidth}`);

  const labelled = (region) => {
    const label = (region.getAttribute("aria-label") || "").trim();
    const ids = (region.getAttribute("aria-labelledby") || "").split(/\\s+/).filter(Boolean);
    const by = ids.map((id) => document.getElementById(id)?.textContent.trim() || "").join("");
    return Boolean(label || by);
  };
  const looseTables = [...document.querySelectorAll("table")]
    .filter((table) => {
      const region = table.parentElement;
      const overflow = region ? getComputedStyle(region).overflowX : "";
      return !(region && region.getAttribute("role") === "region" &&
        region.getAttribute("tabindex") === "0" && labelled(region) &&
        (overflow === "auto" || overflow === "scroll"));
    })
    .map((table) => describe(table));

  // The screen's width: on a mobile browser innerWidth grows with content wider than the
  // screen (the page is zoomed out to fit it), so it cannot tell that the page is too wide.
  const width = document.documentElement.clientWidth;
  const pageWidth = document.documentElement.scrollWidth;
  const sticksOut = pageWidth <= width ? [] : all
    .filter((el) => el.getBoundingClientRect().right > width + 1)
    .slice(0, 8).map(describe);
  return {pageWidth, width, sticksOut, smallTargets, smallText, cutOff, looseTables,
          targets: controls.length, tables: document.querySelectorAll("table").length};
}
"""


@dataclass(frozen=True)
class TabletLayout:
    """What one page measured as laid out on the tablet."""

    page_width: int
    width: int
    sticks_out: list[str]
    small_targets: list[str]
    small_text: list[str]
    cut_off: list[str]
    loose_tables: list[str]
    targets: int
    tables: int

    def problems(self) -> list[str]:
        """Everything that makes the page hard to use on a tablet, one line each."""
        found = []
        if self.page_width > self.width:
            found.append(
                f"the page scrolls sideways ({self.page_width} > {self.width} px), "
                f"sticking out: {self.sticks_out}"
            )
        found += [f"target under {MIN_TARGET_PX} px: {what}" for what in self.small_targets]
        found += [f"text under {MIN_TEXT_PX} px: {what}" for what in self.small_text]
        found += [f"text cut off: {what}" for what in self.cut_off]
        found += [f"table not in a scrolling region: {what}" for what in self.loose_tables]
        return found


async def measure_tablet_layout(page: Page) -> TabletLayout:
    """Measure ``page`` as it is laid out now."""
    found = await page.evaluate(_MEASURE_JS, [MIN_TARGET_PX, MIN_TEXT_PX])
    return TabletLayout(
        page_width=found["pageWidth"],
        width=found["width"],
        sticks_out=found["sticksOut"],
        small_targets=found["smallTargets"],
        small_text=found["smallText"],
        cut_off=found["cutOff"],
        loose_tables=found["looseTables"],
        targets=found["targets"],
        tables=found["tables"],
    )
