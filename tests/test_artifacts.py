"""Every job, in both languages, through the real production path: built, checked, opened.

Artifacts are made the way ``assistant generate`` makes them: ``GenerationQueue.make_now`` with
the real generators (``build_generators``) and a real ``BrowserChecker``, so every check a user's
artifact must pass runs here too. All artifacts of the module are built once, concurrently, by
the ``built`` fixture; the tests then look at them one by one:

1. valid answer sets (typical, minimal, unusual) make an artifact whose manifest lists the
   checks it passed, notes each colour that had to change, and whose zip holds every file;
2. every page (the three page jobs, the to-do list and the Python programs' previews) opens in
   headless Chromium with no console error and no request leaving the page, and the to-do list
   works when driven through its own controls;
3. hostile answers (markup, template syntax, code, 10,000 characters, emoji, bidi marks, NUL),
   put straight into every text and list answer, are shown literally and never act: proven by
   rendering every page in Chromium and running every program in the sandbox.

One Chromium serves the whole module; the fixtures and the async tests share its event loop.
"""

from __future__ import annotations

import ast
import asyncio
import datetime
import json
import re
import zipfile
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from playwright.async_api import Dialog, Request

from assistant.errors import GenerationError
from assistant.generation.package import zip_name
from assistant.generation.queue import GenerationQueue
from assistant.jobs.catalog import Job, JobCatalog
from assistant.session import Artifact, GenerationRequest
from assistant.store.sqlite import SQLiteStore
from assistant.understanding.answers import check_answers
from generators.browser import BrowserChecker
from generators.palette import AA_TEXT
from generators.registry import build_generators
from generators.sandbox import run_sandboxed, sandbox_python
from generators.template import TemplateRenderer
from testing.answer_sets import ADJUSTED_COLORS, HOSTILE, TITLE_QUESTION, VALID
from testing.browser import assert_clean, assert_png, browser_checker

module_loop = pytest.mark.asyncio(loop_scope="module")
# The first test of the module waits for ``built``: every job's artifacts (valid and hostile
# answers, each checked in Chromium or the sandbox), about a hundred, made before any test
# looks at one. On two busy cores that alone took more than the suite's 300 s per test, and
# pytest-timeout's thread method then ended the whole worker ("node down"), not only the test.
pytestmark = pytest.mark.timeout(900)

# The day the answer sets are checked against (relative dates in answers depend on it).
TODAY = datetime.date(2026, 11, 25)
LANGUAGES = ("en", "ja")
PAGE_JOBS = ("cafe_page", "event_page", "intro_page")
PYTHON_JOBS = ("quiz_game", "shopping_total")
BROWSER_JOBS = ("todo_list",)
ALL_JOBS = (*PAGE_JOBS, *PYTHON_JOBS, *BROWSER_JOBS)
PROGRAM_JOBS = (*PYTHON_JOBS, *BROWSER_JOBS)
# Answers in the same places as a hostile set, but harmless: the program built from them is
# the yardstick for the hostile program's structure.
CONTROL = "control"
CONTROL_TEXT = "plain words"
BUILD_CONCURRENCY = 4


@dataclass(frozen=True)
class Case:
    """One artifact to build: a job, a language and an answer set (valid or hostile) by name."""

    job: str
    language: str
    name: str

    @property
    def id(self) -> str:
        return f"{self.job}-{self.language}-{self.name}"

    @property
    def hostile(self) -> str:
        return CONTROL_TEXT if self.name == CONTROL else HOSTILE[self.name]


VALID_CASES = [
    Case(job, language, name)
    for job in ALL_JOBS
    for language in LANGUAGES
    for name in VALID[job][language]
]
HOSTILE_CASES = [
    Case(job, language, name) for job in ALL_JOBS for language in LANGUAGES for name in HOSTILE
]
CONTROL_CASES = [Case(job, language, CONTROL) for job in ALL_JOBS for language in LANGUAGES]


def cases(all_cases: list[Case], jobs: tuple[str, ...]) -> Any:
    """``pytest.param`` for each case of ``jobs``, with a readable id."""
    return [pytest.param(case, id=case.id) for case in all_cases if case.job in jobs]


# --- building -------------------------------------------------------------------------------


def valid_answers(job: Job, case: Case) -> dict[str, Any]:
    """The answer set as the dialog would store it: validated, defaults filled in."""
    return check_answers(VALID[case.job][case.language][case.name], job, case.language, TODAY)


def hostile_answers(job: Job, case: Case) -> dict[str, Any]:
    """The typical answers with every text and list answer replaced by the hostile string.

    Deliberately not validated: 10,000 characters must reach the template too.
    """
    answers = dict(valid_answers(job, Case(case.job, case.language, "typical")))
    for question in job.questions:
        if question.type == "text":
            answers[question.id] = case.hostile
        elif question.type == "list":
            answers[question.id] = [case.hostile]
    return answers


Built = dict[Case, Artifact | GenerationError]


async def _noop(*_args: object) -> None:
    """``make_now`` reports to no session; the callbacks are never called."""


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def browser() -> AsyncIterator[BrowserChecker]:
    async with browser_checker() as checker:
        yield checker


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def built(
    catalog: JobCatalog, browser: BrowserChecker, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Built]:
    """Every artifact of the module, made concurrently through ``GenerationQueue.make_now``."""
    store = SQLiteStore(tmp_path_factory.mktemp("store") / "assistant.db")
    await store.open()
    queue = GenerationQueue(
        store=store,
        jobs=catalog,
        generators=build_generators(TemplateRenderer(), browser),
        artifacts_dir=tmp_path_factory.mktemp("artifacts"),
        on_delivered=_noop,
        on_failed=_noop,
    )
    limit = asyncio.Semaphore(BUILD_CONCURRENCY)

    async def build(number: int, case: Case) -> Artifact | GenerationError:
        job = catalog.jobs[case.job]
        try:
            answers = (
                valid_answers(job, case) if case in VALID_CASES else hostile_answers(job, case)
            )
        except Exception as err:  # noqa: BLE001 - reported by the case's own test
            return GenerationError(f"answers not accepted: {err!r}", code="bad_answers")
        request = GenerationRequest(
            session_key=f"test-{number}",
            job_id=case.job,
            language=case.language,
            answers=answers,
            series=f"s{number:03d}",
            version=1,
        )
        async with limit:
            return await queue.make_now(request)

    everything = [*VALID_CASES, *CONTROL_CASES, *HOSTILE_CASES]
    results = await asyncio.gather(*(build(n, case) for n, case in enumerate(everything)))
    try:
        yield dict(zip(everything, results, strict=True))
    finally:
        await store.close()


def artifact_of(built: Built, case: Case) -> Artifact:
    """The case's artifact; a generation error fails the test with its reason."""
    result = built[case]
    assert isinstance(result, Artifact), (
        f"{case.id} was not delivered: {result.code}: {result.message}"
    )
    return result


def folder_of(built: Built, case: Case) -> Path:
    return Path(artifact_of(built, case).folder)


def read_manifest(folder: Path) -> dict[str, Any]:
    return json.loads((folder / "manifest.json").read_text(encoding="utf-8"))


# --- 1. valid answers make artifacts that pass their checks ---------------------------------


@pytest.mark.parametrize("case", cases(VALID_CASES, ALL_JOBS))
def test_answer_sets_are_answers_a_user_could_give(catalog: JobCatalog, case: Case) -> None:
    raw = VALID[case.job][case.language][case.name]
    job = catalog.jobs[case.job]
    answers = valid_answers(job, case)
    # Accepted exactly as written (colours lower-cased); nothing was cut or split.
    assert {key: answers[key] for key in raw} == {
        key: value.lower() if key.endswith("color") else value for key, value in raw.items()
    }
    missing = {q.id: q.default for q in job.questions if q.id not in raw}
    if case.name == "minimal":
        assert missing and all(not q.required for q in job.questions if q.id not in raw)
    assert {key: answers[key] for key in missing} == missing


def expected_checks(case: Case, folder: Path) -> set[str]:
    """The checks an artifact of this job must have passed."""
    if case.job in PYTHON_JOBS:  # and its web version, used in Chromium
        return {"python", "javascript", "html", "browser"}
    if case.job in BROWSER_JOBS:
        return {"javascript", "html", "browser"}
    has_script = "<script" in (folder / "index.html").read_text(encoding="utf-8")
    return {"html", "javascript"} if has_script else {"html"}


@module_loop
@pytest.mark.parametrize("case", cases(VALID_CASES, ALL_JOBS))
@pytest.mark.slow
async def test_every_job_makes_an_artifact_that_passes_its_checks(
    built: Built, catalog: JobCatalog, case: Case
) -> None:
    artifact = artifact_of(built, case)
    folder = Path(artifact.folder)
    manifest = read_manifest(folder)
    assert manifest == artifact.manifest
    assert manifest["job"] == case.job and manifest["language"] == case.language
    assert manifest["answers"] == valid_answers(catalog.jobs[case.job], case)

    expected = expected_checks(case, folder)
    assert expected <= set(manifest["checks_passed"]), manifest["checks"]
    assert all(check["passed"] for check in manifest["checks"]), manifest["checks"]
    assert manifest["checks_skipped"] == []
    if case.job == "event_page":
        assert "javascript" in expected  # the countdown script was checked by node

    notes = [note for note in manifest["notes"] if note["key"] == "color_adjusted"]
    assert {note["question"] for note in notes} == ADJUSTED_COLORS.get(
        (case.job, case.language, case.name), set()
    )
    for note in notes:
        assert note["original"] == manifest["answers"][note["question"]]
        assert note["used"] != note["original"]
        assert note["contrast_before"] < AA_TEXT <= note["contrast_after"]

    if case.job == "event_page":  # its "add to calendar" file (issue 15)
        assert manifest["files"] == ["index.html", "event.ics"]
    elif case.job in PAGE_JOBS:
        assert manifest["files"] == ["index.html"]
    else:
        main = ["index.html", "main.py"] if case.job in PYTHON_JOBS else ["index.html"]
        assert manifest["files"] == [*main, "README.md"]
    for name in manifest["files"]:
        assert (folder / name).is_file(), name
    if case.job in PYTHON_JOBS:
        assert (folder / "preview.html").is_file()

    zip_path = Path(artifact.zip_path)
    assert zip_path.is_file()
    with zipfile.ZipFile(zip_path) as archive:
        names = set(archive.namelist())
        prefix = zip_name(manifest).removesuffix(".zip") + "/"
        readme = [] if case.job in PROGRAM_JOBS else ["README.txt"]  # how to publish a page
        assert names == {prefix + name for name in [*manifest["files"], *readme]}
        for name in manifest["files"]:
            assert archive.read(prefix + name) == (folder / name).read_bytes()


# --- 2. every page opens cleanly in Chromium ------------------------------------------------


def title_answer(case: Case) -> str:
    return VALID[case.job][case.language][case.name][TITLE_QUESTION[case.job]]


@module_loop
@pytest.mark.parametrize("case", cases(VALID_CASES, (*PAGE_JOBS, *BROWSER_JOBS, *PYTHON_JOBS)))
@pytest.mark.slow
async def test_every_page_opens_in_chromium_without_errors_or_requests(
    built: Built, browser: BrowserChecker, case: Case, tmp_path: Path
) -> None:
    shot = tmp_path / f"{case.id}.png"
    report = await browser.load(folder_of(built, case) / "index.html", screenshot=shot, settle_ms=0)
    assert_clean(report)
    assert_png(shot)
    assert title_answer(case) in report.title
    assert title_answer(case) in report.text


@module_loop
@pytest.mark.parametrize("case", cases(VALID_CASES, PYTHON_JOBS))
@pytest.mark.slow
async def test_every_python_preview_opens_in_chromium_without_errors_or_requests(
    built: Built, browser: BrowserChecker, case: Case, tmp_path: Path
) -> None:
    shot = tmp_path / f"{case.id}.png"
    report = await browser.load(
        folder_of(built, case) / "preview.html", screenshot=shot, settle_ms=0
    )
    assert_clean(report)
    assert_png(shot)
    # What the program printed when started shows on the preview, with the user's title in it.
    sample = report.text.split("main.py", 1)[-1]
    assert title_answer(case) in sample


# Whether any list kept in this origin's localStorage holds the task.
_STORED = """
(task) => Object.keys(localStorage).some((key) => (localStorage.getItem(key) || "").includes(task))
"""


@module_loop
@pytest.mark.parametrize("case", cases(VALID_CASES, BROWSER_JOBS))
@pytest.mark.slow
async def test_the_todo_list_adds_ticks_and_deletes_through_its_own_controls(
    built: Built, browser: BrowserChecker, case: Case
) -> None:
    answers = artifact_of(built, case).manifest["answers"]
    first = answers["first_items"] or []
    ja = case.language == "ja"
    task = "牛乳を買う 🥛" if ja else "Buy milk 🥛"
    index = folder_of(built, case) / "index.html"
    async with browser.open(index.as_uri()) as session:
        page = session.page
        rows = page.locator("#items li")
        labels = page.locator("#items label")
        assert await labels.all_text_contents() == first
        assert await page.locator("#empty").is_visible() is (not first)

        await page.get_by_label("やることを入れてください" if ja else "New task").fill(task)
        await page.get_by_role("button", name="追加" if ja else "Add", exact=True).click()
        assert await labels.all_text_contents() == [*first, task]
        assert await page.locator("#empty").is_visible() is False
        status = page.get_by_role("status")
        assert task in (await status.text_content() or "")

        box = page.get_by_role("checkbox", name=task, exact=True)
        await box.check()
        assert await box.is_checked()
        assert await rows.last.get_attribute("class") == "done"
        total = len(first) + 1
        count = f"{total}こ中 1こ おわり" if ja else f"1 of {total} done"
        assert await page.locator("#count").text_content() == count

        delete = f"「{task}」を消す" if ja else f"Delete \u201c{task}\u201d"
        await page.get_by_role("button", name=delete, exact=True).click()
        assert await labels.all_text_contents() == first
        assert task in (await status.text_content() or "")
        assert await page.locator("#empty").is_visible() is (not first)

        # The list is kept in the browser only when the user asked for that.
        await page.get_by_label("やることを入れてください" if ja else "New task").fill(task)
        await page.keyboard.press("Enter")
        assert await labels.all_text_contents() == [*first, task]
        assert await page.evaluate(_STORED, task) is answers["save_in_browser"]

        assert session.console_errors == ()
        assert session.blocked_requests == ()


# --- 3. hostile answers are shown literally and never act -----------------------------------

# Overrides installed before any page script runs: any call marks the page as compromised.
_TRAP = """
window.__pwned = [];
for (const name of ["alert", "confirm", "prompt", "print"]) {
  window[name] = function () { window.__pwned.push(name); };
}
"""


def times_shown(hostile: str, text: str) -> int:
    """How often ``text`` shows ``hostile`` literally; an HTML parser drops or replaces NUL."""
    pattern = r"[\x00\ufffd]?".join(re.escape(part) for part in hostile.split("\x00"))
    return len(re.findall(pattern, text))


def shows(hostile: str, text: str) -> bool:
    return times_shown(hostile, text) > 0


# The first two neighbouring letters of each stretch of the page's own text (text nodes, split
# where the answer occurs) drawn right to left: a bidi override in an answer must not turn the
# page's words around.
_REVERSED_TEXT = """
(answer) => {
  const found = [];
  const range = document.createRange();
  const box = (node, i) => {
    range.setStart(node, i);
    range.setEnd(node, i + 1);
    return range.getBoundingClientRect();
  };
  const letter = (c) => /\\p{L}/u.test(c);
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const text = node.data;
    let from = 0;
    while (from < text.length) {
      const at = text.indexOf(answer, from);
      const to = at < 0 ? text.length : at;
      for (let i = from; i + 1 < to; i += 1) {
        if (letter(text[i]) && letter(text[i + 1])) {
          const a = box(node, i);
          const b = box(node, i + 1);
          if (a.width && b.width && a.top === b.top && b.left < a.left) {
            found.push(text.slice(Math.max(0, i - 20), i + 20));
          }
          break;
        }
      }
      from = at < 0 ? text.length : at + answer.length;
    }
  }
  return found;
}
"""


@dataclass
class Visit:
    """What a hostile page did while it was open."""

    text: str
    title: str
    requests: list[str]
    dialogs: list[str]
    pwned: list[str]
    images: int
    scripts: int
    console_errors: tuple[str, ...]
    blocked_requests: tuple[str, ...]
    item_texts: list[str]
    reversed_text: list[str]


async def visit(browser: BrowserChecker, page_file: Path, answer: str) -> Visit:
    """Open a page with traps set before its scripts run, and collect what it did."""
    requests: list[str] = []
    dialogs: list[str] = []

    async def on_dialog(dialog: Dialog) -> None:
        dialogs.append(f"{dialog.type}: {dialog.message}")
        await dialog.dismiss()

    def on_request(request: Request) -> None:
        requests.append(request.url)

    async with browser.open("about:blank", allow_dir=page_file.parent) as session:
        page = session.page
        page.on("dialog", on_dialog)
        page.on("request", on_request)
        await page.add_init_script(_TRAP)
        await page.goto(page_file.as_uri(), wait_until="load")
        boxes = page.locator("#items input[type=checkbox]")
        if await boxes.count():  # the to-do list: tick the first task so its name is announced
            await boxes.first.check()
        state = await page.evaluate(
            """() => ({
                text: document.body.innerText,
                title: document.title,
                pwned: window.__pwned,
                images: document.images.length,
                scripts: document.scripts.length,
                items: [...document.querySelectorAll("#items label")].map(e => e.textContent),
            })"""
        )
        return Visit(
            text=state["text"],
            title=state["title"],
            requests=requests,
            dialogs=dialogs,
            pwned=state["pwned"],
            images=state["images"],
            scripts=state["scripts"],
            console_errors=session.console_errors,
            blocked_requests=session.blocked_requests,
            item_texts=state["items"],
            reversed_text=await page.evaluate(_REVERSED_TEXT, answer),
        )


def assert_harmless(seen: Visit, control: Visit, page_file: Path) -> None:
    """Nothing ran, loaded or was added to the page that the harmless answers did not have."""
    assert seen.dialogs == [] and seen.pwned == []
    assert seen.console_errors == ()
    assert seen.blocked_requests == ()
    assert seen.requests == [page_file.as_uri()]
    assert (seen.images, seen.scripts) == (control.images, control.scripts)
    assert seen.reversed_text == [], "the answer turned the page's own text around"


def control_case(case: Case) -> Case:
    return Case(case.job, case.language, CONTROL)


@pytest.fixture(scope="module")
def control_visits() -> dict[Path, Visit]:
    """Visits of the harmless pages, made once each and compared with every hostile one."""
    return {}


async def control_visit(
    visits: dict[Path, Visit], browser: BrowserChecker, built: Built, case: Case, name: str
) -> Visit:
    page_file = folder_of(built, control_case(case)) / name
    if page_file not in visits:
        visits[page_file] = await visit(browser, page_file, CONTROL_TEXT)
    return visits[page_file]


@module_loop
@pytest.mark.parametrize("case", cases(HOSTILE_CASES, (*PAGE_JOBS, *BROWSER_JOBS, *PYTHON_JOBS)))
@pytest.mark.slow
async def test_hostile_answers_show_literally_on_every_page_and_never_run(
    built: Built, browser: BrowserChecker, control_visits: dict[Path, Visit], case: Case
) -> None:
    index = folder_of(built, case) / "index.html"
    seen = await visit(browser, index, case.hostile)
    control = await control_visit(control_visits, browser, built, case, "index.html")
    assert_harmless(seen, control, index)
    assert shows(case.hostile, seen.text), seen.text[:2000]
    assert shows(case.hostile, seen.title), seen.title[:200]
    # Every place the harmless answer appears, the hostile one appears instead, as text; but
    # the till reads a product's last number as its price, as its Python version does.
    priced = case.job == "shopping_total" and re.search(r"\d", case.hostile) is not None
    expected = control.text.count(CONTROL_TEXT) - (1 if priced else 0)
    assert times_shown(case.hostile, seen.text) == expected
    if case.name == "template":
        assert seen.text.count("49") == control.text.count("49")
    if case.job == "todo_list":
        assert seen.item_texts == [case.hostile]  # built by the script with textContent


@module_loop
@pytest.mark.parametrize("case", cases(HOSTILE_CASES, PYTHON_JOBS))
@pytest.mark.slow
async def test_hostile_answers_show_literally_on_every_python_preview(
    built: Built, browser: BrowserChecker, control_visits: dict[Path, Visit], case: Case
) -> None:
    preview = folder_of(built, case) / "preview.html"
    seen = await visit(browser, preview, case.hostile)
    control = await control_visit(control_visits, browser, built, case, "preview.html")
    assert_harmless(seen, control, preview)
    assert shows(case.hostile, seen.text), seen.text[:2000]
    if case.name == "template":
        assert seen.text.count("49") == control.text.count("49")


def _line_starts(source: bytes) -> list[int]:
    starts = [0]
    for line in source.splitlines(keepends=True):
        starts.append(starts[-1] + len(line))
    return starts


def string_spans(tree: ast.AST, source: bytes) -> list[tuple[int, int]]:
    """Byte ranges of every string literal in the source (AST offsets count UTF-8 bytes)."""
    starts = _line_starts(source)
    spans = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            assert node.end_lineno is not None and node.end_col_offset is not None
            spans.append(
                (
                    starts[node.lineno - 1] + node.col_offset,
                    starts[node.end_lineno - 1] + node.end_col_offset,
                )
            )
    return spans


def occurrences(needle: bytes, haystack: bytes) -> Iterator[int]:
    at = haystack.find(needle)
    while at >= 0:
        yield at
        at = haystack.find(needle, at + 1)


def shape(tree: ast.AST) -> str:
    """The program's structure with every string's content blanked out."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            node.value = ""
    return ast.dump(tree)


def program_input(case: Case, answers: dict[str, Any]) -> bytes:
    """Replies that play one whole round (quiz) or ring up one sale (till), then stop."""
    if case.job == "quiz_game":
        return ("1\n" * answers["question_count"] + "no\n").encode()
    # Item 0 is "something else": price 100, quantity 1; Enter ends the sale; then no, no.
    return b"0\n100\n\n\nno\nno\n"


@module_loop
@pytest.mark.parametrize("case", cases(HOSTILE_CASES, PYTHON_JOBS))
@pytest.mark.slow
async def test_hostile_answers_stay_string_literals_in_every_program(
    built: Built, catalog: JobCatalog, case: Case
) -> None:
    folder = folder_of(built, case)
    source = (folder / "main.py").read_bytes()
    tree = ast.parse(source)
    constants = [
        node.value
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and isinstance(node.value, str)
    ]
    # Each text answer and list item is one string constant holding the whole hostile value.
    answered = [q.id for q in catalog.jobs[case.job].questions if q.type in ("text", "list")]
    assert constants.count(case.hostile) == len(answered), answered
    names = {node.id for node in ast.walk(tree) if isinstance(node, ast.Name)}
    names |= {node.attr for node in ast.walk(tree) if isinstance(node, ast.Attribute)}
    assert not names & {"system", "os", "popen", "subprocess", "eval", "exec"}
    # Wherever the value appears as written in the source, it is inside a string literal.
    spans = string_spans(tree, source)
    needle = case.hostile.encode()
    for at in occurrences(needle, source):
        assert any(start <= at and at + len(needle) <= end for start, end in spans), at
    # And the program has exactly the shape it has with harmless answers.
    control = ast.parse((folder_of(built, control_case(case)) / "main.py").read_bytes())
    assert shape(tree) == shape(control)


@module_loop
@pytest.mark.parametrize("case", cases(HOSTILE_CASES, PYTHON_JOBS))
@pytest.mark.slow
async def test_hostile_answers_print_literally_when_every_program_runs(
    built: Built, case: Case
) -> None:
    artifact = artifact_of(built, case)
    result = await run_sandboxed(
        [sandbox_python(), "-s", "-B", "main.py"],
        files_from=Path(artifact.folder),
        stdin=program_input(case, artifact.manifest["answers"]),
    )
    output = result.stdout + result.stderr
    assert not result.timed_out
    assert result.returncode == 0, result.stderr[-2000:]
    assert "Traceback" not in result.stderr, result.stderr[-2000:]
    assert "uid=" not in output
    # The title is printed when the program starts, and again on the receipt of the till.
    expected = 2 if case.job == "shopping_total" else 1
    assert result.stdout.count(case.hostile) >= expected, result.stdout[-2000:]
    if case.name == "template":
        assert "49" not in result.stdout
