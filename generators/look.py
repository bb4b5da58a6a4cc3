"""A page's look beyond its answers: the sizes an edit in words changes after delivery.

"Make the title bigger" or 「写真を大きく」 is not an answer to any question; it is a step up
or down for one part of the page, kept with the session and the artifact's inputs. Every page
template already sets its own sizes (a magazine title is bigger than a classic one), so a
step scales what the layout chose rather than replacing it: CSS ``zoom`` for the title and
the photos (fixed lengths grow, percentages stay, so a photo never gets wider than its
column) and for the body's text. The rules are for screens only: a printed poster or card
keeps the exact page its print layout was made to fit.
"""

from __future__ import annotations

from collections.abc import Mapping

from assistant.session import LOOK_PARTS, clean_look

# part -> (CSS selector, how much one step changes it)
PARTS: dict[str, tuple[str, float]] = {
    "title": ("h1", 1.25),
    "text": ("body", 1.125),
    "photo": (".hero-photo, .hero-logo, .gallery-grid img", 1.25),
}
assert set(PARTS) == set(LOOK_PARTS)
# On a phone a magazine title is already a tenth of the screen wide per letter: there a part
# grows one step at most, so "Sunny" is not split into "Sun" and "ny".
PHONE_WIDTH = "30rem"
PHONE_MAX_SCALE = 1.25


def look_css(look: Mapping[str, int]) -> str:
    """The style rules for a look; "" when nothing changed (the page is as the layout made it)."""
    rules, narrow = [], []
    for part, step in clean_look(dict(look)).items():
        selector, factor = PARTS[part]
        scale = round(factor**step, 4)
        rules.append(f"  {selector} {{ zoom: {scale}; }}")
        if scale > PHONE_MAX_SCALE:  # a phone's narrow column would break words apart
            narrow.append(f"  {selector} {{ zoom: {PHONE_MAX_SCALE}; }}")
        if part == "title":  # a bigger title still wraps on a phone instead of scrolling
            rules.append(f"  {selector} {{ overflow-wrap: break-word; }}")
    if not rules:
        return ""
    css = "@media screen {\n" + "\n".join(rules) + "\n}"
    if narrow:
        css += f"\n@media screen and (max-width: {PHONE_WIDTH}) {{\n" + "\n".join(narrow) + "\n}"
    return css


def with_look(html: str, look: Mapping[str, int]) -> str:
    """The page with its look's rules last in the head, so they win over the layout's own."""
    css = look_css(look)
    if not css:
        return html
    block = f'<style id="look">\n{css}\n</style>\n'
    at = html.find("</head>")
    return html[:at] + block + html[at:] if at >= 0 else block + html
