"""Before/after screenshots of the café page and the event page for issue 15's closing note.

Each page is made by a checkout's own ``assistant generate`` command, with the model off, from
the typical answers of ``testing/answer_sets.py`` (English and Japanese): "after" by this
tree, "before" by commit 6764ceb (the last one before issue 15) in a temporary worktree,
removed afterwards. Answers to questions the older job did not ask are left out, since its
command would refuse them. Chromium then takes each page at 1280x900, the whole page, and at
360 px, the first screen as a phone shows it, into ``docs/issue15/``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import yaml
from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from generators.browser import BrowserChecker, find_chromium  # noqa: E402
from testing.answer_sets import VALID  # noqa: E402

BEFORE_COMMIT = "6764ceb"
JOBS = ("cafe_page", "event_page")
LANGUAGES = ("en", "ja")
OUT = ROOT / "docs" / "issue15"
WIDE = (1280, 900)
PHONE = (360, 740)
SIZE_LIMIT = 400 * 1024  # bytes a PNG may weigh in the repository
SETTLE_MS = 500  # web fonts are local, but a poster's entrance animation takes a moment


# The café's optional sections taken, as a shop owner would (a job that does not ask them
# leaves them out): the "after" page shows what issue 15 added, not only the menu and hours.
MORE: dict[str, dict[str, dict[str, Any]]] = {
    "cafe_page": {
        "en": {
            "add_more": True,
            "menu_items": ["coffee 3.50", "cake 4", "ham sandwich 5.20"],
            "opening_hours": "9 am to 5 pm, closed Mondays",
            "about": "A family café by the station for twenty years.",
            "address": "1 High Street, Leeds",
            "phone": "+44 113 496 0000",
            "email": "hello@sunny.example",
            "faq": ["Is there parking? Yes, two spaces"],
            "news": "Open on Saturdays in December",
        },
        "ja": {
            "add_more": True,
            "menu_items": ["コーヒー 400円", "ケーキ 500円", "サンドイッチ 650円"],
            "opening_hours": "9時から17時、月曜休み",
            "about": "駅前で20年、手作りのケーキのお店です。",
            "address": "東京都千代田区1-2-3",
            "phone": "03-1234-5678",
            "email": "info@hidamari.example",
            "faq": ["駐車場はありますか？ 2台あります"],
            "news": "12月は毎週土曜もあいています",
        },
    },
}


def answers_for(checkout: Path, job_id: str, language: str) -> dict[str, Any]:
    """The typical answers (with the café's sections), only for questions the checkout's job
    asks; a list the older job took as words only is sent as it would have been said."""
    job = yaml.safe_load((checkout / "dialogs" / "jobs" / f"{job_id}.yaml").read_text("utf-8"))
    asked = {question["id"] for question in job["questions"]}
    typical = VALID[job_id][language]["typical"] | MORE.get(job_id, {}).get(language, {})
    return {key: value for key, value in typical.items() if key in asked}


def generate(checkout: Path, job_id: str, language: str, work: Path) -> Path:
    """The checkout's ``assistant generate``; the delivered ``index.html``."""
    work.mkdir(parents=True)
    answers = work / "answers.json"
    answers.write_text(json.dumps(answers_for(checkout, job_id, language), ensure_ascii=False))
    env = {
        **os.environ,
        "PYTHONPATH": str(checkout),  # its own packages, not this tree's editable install
        "ASSISTANT_DATA_DIR": str(work / "data"),
        "ASSISTANT_LLM_ENABLED": "false",
    }
    command = [sys.executable, "-m", "assistant", "generate", job_id, "--answers", str(answers)]
    command += ["--lang", language, "--out", str(work / "artifacts")]
    done = subprocess.run(command, cwd=checkout, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"{checkout}: {job_id} {language}: {done.stderr[-2000:]}")
    folder = next(
        line.removeprefix("folder: ")
        for line in done.stdout.splitlines()
        if line.startswith("folder: ")
    )
    return Path(folder) / "index.html"


async def shoot(browser: BrowserChecker, index: Path, stem: str) -> list[Path]:
    """The page at 1280x900 (whole page) and at 360 px (first screen)."""
    made = []
    for viewport, suffix, full_page in ((WIDE, "", True), (PHONE, "-360", False)):
        target = OUT / f"{stem}{suffix}.png"
        async with browser.open(index.as_uri(), viewport=viewport) as session:
            await session.page.wait_for_timeout(SETTLE_MS)
            await session.page.screenshot(path=target, full_page=full_page)
        made.append(smaller(target))
    return made


def smaller(path: Path) -> Path:
    """Re-save optimised; a PNG still over the limit drops to 256 colours."""
    with Image.open(path) as image:
        image.load()
    image.save(path, optimize=True)
    if path.stat().st_size > SIZE_LIMIT:
        image.convert("RGB").quantize(256).save(path, optimize=True)
    return path


async def shoot_all(pages: dict[str, Path]) -> list[Path]:
    """Every page, in one browser."""
    async with BrowserChecker(find_chromium(), extra_args=("--hide-scrollbars",)) as browser:
        made = []
        for stem, index in pages.items():
            made += await shoot(browser, index, stem)
        return made


def before_checkout(folder: Path) -> Path:
    """A detached worktree of the commit before issue 15 (node's packages linked in)."""
    checkout = folder / "before15"
    subprocess.run(
        ["git", "worktree", "add", "--detach", str(checkout), BEFORE_COMMIT],
        cwd=ROOT, check=True, capture_output=True,
    )  # fmt: skip
    if (ROOT / "node_modules").exists():
        (checkout / "node_modules").symlink_to((ROOT / "node_modules").resolve())
    return checkout


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.parse_args(argv)
    OUT.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as temporary:
        folder = Path(temporary)
        pages: dict[str, Path] = {}
        checkout = before_checkout(folder)
        try:
            for job_id in JOBS:
                for language in LANGUAGES:
                    for moment, tree in (("before", checkout), ("after", ROOT)):
                        print(f"{moment}: {job_id} {language}…", file=sys.stderr, flush=True)
                        work = folder / f"{moment}-{job_id}-{language}"
                        pages[f"{moment}-{job_id}-{language}"] = generate(
                            tree, job_id, language, work
                        )
            made = asyncio.run(shoot_all(pages))
        finally:
            subprocess.run(
                ["git", "worktree", "remove", "--force", str(checkout)], cwd=ROOT, check=False
            )
    for path in made:
        print(f"{path.relative_to(ROOT)}: {path.stat().st_size / 1024:.0f} KB")


if __name__ == "__main__":
    main()
