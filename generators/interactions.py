"""What the pre-delivery Chromium check does with a browser program, as a person would.

Loading a page proves little about a program: a to-do list whose form is dead loads cleanly.
So each browser program has a short scripted use here (add a task; add an item and read the
total; answer every quiz question and reach the score), found by the template it came from.
The steps use only element ids the templates promise, never words, so they work in every
language. A step that does not see what it should raises :class:`InteractionError`, and the
program is not delivered.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # Playwright is imported only when a browser is used
    from playwright.async_api import Page

Interaction = Callable[["Page"], Awaitable[None]]
STEP_MS = 15_000  # one step; the whole use is bounded by the checker's own timeout
SAMPLE_TASK = "check 123"


class InteractionError(RuntimeError):
    """The program did not answer a person's action as it should."""


async def _wait(page: Page, script: str, arg: object, what: str) -> None:
    """Wait for ``script`` to be true, or fail saying ``what`` did not happen."""
    from playwright.async_api import Error

    try:
        await page.wait_for_function(script, arg=arg, timeout=STEP_MS)
    except Error as exc:
        raise InteractionError(f"{what} did not happen") from exc


async def add_task(page: Page) -> None:
    """The to-do list: type a task, press Enter, and see it on the list."""
    page.set_default_timeout(STEP_MS)
    before = await page.locator("#items li").count()
    await page.locator("#new-item").fill(SAMPLE_TASK)
    await page.locator("#new-item").press("Enter")
    await _wait(
        page,
        "([n, t]) => document.querySelectorAll('#items li').length === n + 1"
        " && document.getElementById('items').textContent.includes(t)",
        [before, SAMPLE_TASK],
        "adding a task",
    )


async def add_item_and_total(page: Page) -> None:
    """The shopping total: add one item at a typed price, twice, and see the total change."""
    page.set_default_timeout(STEP_MS)
    await page.locator("#pick").select_option("0")
    for quantity in ("2", "1"):
        before = await page.locator("#total").inner_text()
        await page.locator("#price").fill("100")
        await page.locator("#quantity").fill(quantity)
        await page.locator("#add").press("Enter")
        await _wait(
            page,
            "(b) => document.getElementById('total').textContent !== b",
            before,
            "the total changing after adding an item",
        )
    count = await page.locator("#lines li").count()
    if count != 2:
        raise InteractionError(f"two items added, {count} on the list")
    subtotal = await page.locator("#subtotal").get_attribute("data-amount")
    if subtotal is None or float(subtotal) != 300:
        raise InteractionError(f"2 x 100 + 1 x 100 made a subtotal of {subtotal}")


async def finish_quiz(page: Page) -> None:
    """The quiz: answer every question with its first option and reach the score."""
    page.set_default_timeout(STEP_MS)
    total = int(await page.locator("#quiz").get_attribute("data-total") or "0")
    if total < 1:
        raise InteractionError("the quiz has no questions")
    for number in range(1, total + 1):
        await _wait(
            page,
            "(n) => document.getElementById('quiz').dataset.number === String(n)",
            number,
            f"question {number} showing",
        )
        await page.locator("#options button").first.press("Enter")
        await page.locator("#next").press("Enter")
    await _wait(
        page,
        "() => !document.getElementById('result').hidden",
        None,
        "the score showing at the end",
    )


INTERACTIONS: dict[str, Interaction] = {
    "program/todo.html.j2": add_task,
    "program/shopping.html.j2": add_item_and_total,
    "program/quiz.html.j2": finish_quiz,
}


def interaction_for(template: str) -> Interaction | None:
    """The scripted use of the program a template makes, if it has one."""
    return INTERACTIONS.get(template)
