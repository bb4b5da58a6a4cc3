"""axe-core accessibility audits of a Playwright page, and readable reports of what they found."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from playwright.async_api import Page

from assistant.config import PROJECT_ROOT

AXE_PATH = PROJECT_ROOT / "node_modules" / "axe-core" / "axe.min.js"
AXE_MISSING = (
    "axe-core is not installed: run `npm ci` in the project folder "
    "(scripts/test does this through setup_node)"
)


@dataclass(frozen=True)
class AxeAudit:
    """One axe-core run: what broke a rule, and which rules ran and passed."""

    violations: list[dict[str, Any]]
    passes: frozenset[str]


async def axe_audit(page: Page, tags: Sequence[str]) -> AxeAudit:
    """axe-core on the page as it is now (injected once per page), limited to ``tags``."""
    if not await page.evaluate("() => typeof window.axe !== 'undefined'"):
        await page.add_script_tag(path=str(AXE_PATH))
    result = await page.evaluate(
        """async (tags) => {
             const r = await axe.run(document, {runOnly: {type: "tag", values: tags}});
             return {passes: r.passes.map((p) => p.id),
               violations: r.violations.map((v) => ({id: v.id, impact: v.impact, help: v.help,
                 nodes: v.nodes.map((n) => ({target: n.target.join(" "),
                   summary: n.failureSummary}))}))};
           }""",
        list(tags),
    )
    return AxeAudit(list(result["violations"]), frozenset(result["passes"]))


def describe_violations(violations: list[dict[str, Any]]) -> str:
    """One line per rule with the elements that broke it, for a readable failure."""
    lines = []
    for violation in violations:
        nodes = "; ".join(
            f"{n['target']} ({(n['summary'] or '').splitlines()[-1].strip()})"
            for n in violation["nodes"][:5]
        )
        lines.append(f"{violation['id']} [{violation['impact']}] {violation['help']}: {nodes}")
    return "\n".join(lines)
