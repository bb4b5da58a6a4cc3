"""Checks an artifact must pass before it is delivered.

A failed check never ships: the generator raises, the user hears one plain sentence, and the
reason is in the log and in the generation's row.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import posixpath
import re
import shutil
import tempfile
import time
from dataclasses import asdict, dataclass
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

from generators.sandbox import NODE_MEMORY_MB, SandboxResult, run_sandboxed, sandbox_python

_LOGGER = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class CheckResult:
    """The outcome of one check; ``detail`` says what was wrong, for staff."""

    name: str
    passed: bool
    detail: str = ""
    seconds: float = 0.0

    def to_manifest(self) -> dict[str, Any]:
        """The form written into ``manifest.json``."""
        return asdict(self)


# --- HTML ---------------------------------------------------------------------------------

# Attributes that make the browser fetch something (href is handled per element below).
_LOADING_ATTRS = frozenset(
    "src srcset imagesrcset poster data action formaction xlink:href background ping codebase"
    " archive manifest longdesc".split()
)
_NAVIGATION_TAGS = {"a", "area"}  # their href is a link the user may follow, not a load
_NAVIGATION_RELS = frozenset(
    "alternate author bookmark canonical external help license me next nofollow noopener"
    " noreferrer prev search tag".split()
)
_LOCAL_SCHEMES = {"data", "blob", "mailto", "tel", "sms", "javascript", "about"}
_SCHEME = re.compile(r"^([a-z][a-z0-9+.\-]*):")
_URL_JUNK = "".join(chr(c) for c in range(33))  # browsers strip these around a URL
_CSS_COMMENT = re.compile(r"/\*.*?\*/", re.S)
_CSS_ESCAPE = re.compile(r"\\([0-9a-fA-F]{1,6})\s?|\\(.)", re.S)
_CSS_URLS = re.compile(
    r"""url\(\s*(?:"([^"]*)"|'([^']*)'|([^)\s]*))|@import\s+(?:"([^"]*)"|'([^']*)')"""
    r"""|image-set\(\s*(?:"([^"]*)"|'([^']*)')""",
    re.I,
)
_VOID = frozenset(
    "area base br col embed hr img input link meta source track wbr param keygen".split()
)
_OPTIONAL_END = frozenset(
    "html head body p li dt dd option optgroup tr td th thead tbody tfoot colgroup caption"
    " rb rt rtc rp".split()
)
_JS_TYPES = {"", "text/javascript", "application/javascript", "text/ecmascript", "module"}


def _is_outside(url: str) -> bool:
    """Whether a URL, as a browser would clean it, points outside the artifact folder."""
    url = re.sub(r"[\t\n\r]", "", url).strip(_URL_JUNK).replace("\\", "/")
    if not url or url.startswith("#"):
        return False
    scheme = _SCHEME.match(url.lower())
    if scheme:
        return scheme.group(1) not in _LOCAL_SCHEMES
    if url.startswith("/"):
        return True
    path = posixpath.normpath(re.split(r"[?#]", url, maxsplit=1)[0])
    return path == ".." or path.startswith("../")


def _srcset_urls(value: str) -> list[str]:
    """The URLs of a ``srcset``, which may contain commas (data: URLs), as browsers split it."""
    urls, i, n = [], 0, len(value)
    while i < n:
        while i < n and (value[i].isspace() or value[i] == ","):
            i += 1
        start = i
        while i < n and not value[i].isspace():
            i += 1
        url = value[start:i]
        if url.endswith(","):
            url = url.rstrip(",")
        else:
            depth = 0
            while i < n and (value[i] != "," or depth):
                if value[i] == "(":
                    depth += 1
                elif value[i] == ")" and depth:
                    depth -= 1
                i += 1
        if url:
            urls.append(url)
    return urls


def _css_urls(css: str) -> list[str]:
    """Every URL a stylesheet would load: url(), @import and image-set() strings."""
    css = _CSS_COMMENT.sub("", css)

    def unescape(m: re.Match[str]) -> str:
        if m.group(1):
            code = int(m.group(1), 16)
            return chr(code) if 0 < code <= 0x10FFFF else "\ufffd"
        return m.group(2)

    css = _CSS_ESCAPE.sub(unescape, css)  # so that u\72l( is still caught
    return [next(g for g in m.groups() if g is not None) for m in _CSS_URLS.finditer(css)]


class _PageScanner(HTMLParser):
    """One pass over a page: outside references, structure, and inline scripts."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.outside: list[str] = []
        self.problems: list[str] = []
        self.scripts: list[tuple[int, str, str]] = []  # (line, type, code)
        self.doctype = self.seen_tag = False
        self.lang: str | None = None
        self.title: str | None = None
        self.headings: list[tuple[int, int]] = []  # (level, line)
        self._stack: list[tuple[str, int]] = []
        self._raw: tuple[str, int, dict[str, str]] | None = None  # open <script>/<style>/<title>
        self._raw_text: list[str] = []

    def _note(self, line: int, what: str, url: str) -> None:
        if _is_outside(url):
            self.outside.append(f"line {line}: {what} {url.strip()}")

    def _visit(self, tag: str, attrs: list[tuple[str, str | None]]) -> dict[str, str]:
        line = self.getpos()[0]
        if not self.seen_tag and not self.doctype:
            self.problems.append("missing <!doctype html> at the start")
        self.seen_tag = True
        found = {name: value or "" for name, value in attrs}
        rels = set(found.get("rel", "").lower().split())
        for name, value in found.items():
            what = f"<{tag} {name}>"
            if name == "style":
                for url in _css_urls(value):
                    self._note(line, what, url)
            elif name == "srcdoc":
                self.outside += [f"line {line}: {what} {r}" for r in find_outside_resources(value)]
            elif name in ("srcset", "imagesrcset"):
                for url in _srcset_urls(value):
                    self._note(line, what, url)
            elif tag == "base" and name == "href":
                self.outside.append(f"line {line}: {what} {value}")
            elif tag in _NAVIGATION_TAGS and name in ("href", "xlink:href"):
                continue
            elif name in _LOADING_ATTRS or (
                name == "href" and not (tag == "link" and rels <= _NAVIGATION_RELS)
            ):
                self._note(line, what, value)
        if tag == "meta" and found.get("http-equiv", "").lower() == "refresh":
            self.outside.append(f"line {line}: <meta http-equiv=refresh> {found.get('content')}")
        elif tag == "html":
            self.lang = found.get("lang", "").strip()
        elif tag == "img" and "alt" not in found:
            self.problems.append(f"line {line}: <img> has no alt text")
        elif re.fullmatch(r"h[1-6]", tag):
            self.headings.append((int(tag[1]), line))
        return found

    def handle_decl(self, decl: str) -> None:
        if decl.lower().split()[:2] == ["doctype", "html"] and not self.seen_tag:
            self.doctype = True

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._visit(tag, attrs)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = self._visit(tag, attrs)
        if tag in ("script", "style", "title"):
            self._raw, self._raw_text = (tag, self.getpos()[0], found), []
        if tag not in _VOID:
            self._stack.append((tag, self.getpos()[0]))

    def handle_data(self, data: str) -> None:
        if self._raw is not None:
            self._raw_text.append(data)

    def handle_endtag(self, tag: str) -> None:
        line = self.getpos()[0]
        if self._raw is not None and self._raw[0] == tag:
            self._end_raw()
        if tag in _VOID:
            return
        names = [name for name, _ in self._stack]
        if tag not in names:
            self.problems.append(f"line {line}: </{tag}> closes nothing")
            return
        index = len(names) - 1 - names[::-1].index(tag)
        for name, opened in self._stack[index + 1 :]:
            if name not in _OPTIONAL_END:
                self.problems.append(f"line {line}: <{name}> from line {opened} is not closed")
        del self._stack[index:]

    def _end_raw(self) -> None:
        assert self._raw is not None
        tag, line, attrs = self._raw
        text = "".join(self._raw_text)
        self._raw = None
        if tag == "title":
            self.title = text.strip()
        elif tag == "style":
            for url in _css_urls(text):
                self._note(line, "<style>", url)
        elif "src" not in attrs and attrs.get("type", "").strip().lower() in _JS_TYPES:
            self.scripts.append((line, attrs.get("type", "").strip().lower(), text))

    def close(self) -> None:
        super().close()
        if self._raw is not None:
            self._end_raw()
        for name, opened in self._stack:
            if name not in _OPTIONAL_END:
                self.problems.append(f"<{name}> from line {opened} is never closed")


def _scan(html: str) -> _PageScanner:
    """Parse a page once with the stdlib parser."""
    scanner = _PageScanner()
    scanner.feed(html)
    scanner.close()
    return scanner


def find_outside_resources(html: str) -> list[str]:
    """Everything the page would load from outside its folder; links to follow do not count."""
    return _scan(html).outside


def check_html(text: str) -> CheckResult:
    """A page must parse, be accessible in structure, and load nothing from outside."""
    started = time.monotonic()
    page = _scan(text)
    problems = list(page.problems)
    if not page.seen_tag and not page.doctype:
        problems.append("missing <!doctype html> at the start")
    if not page.lang:
        problems.append("<html> has no lang attribute")
    if not page.title:
        problems.append("no <title>")
    h1s = [line for level, line in page.headings if level == 1]
    if len(h1s) != 1:
        problems.append(f"expected exactly one <h1>, found {len(h1s)}")
    previous = 0
    for level, line in page.headings:
        if level > previous + 1:
            problems.append(f"line {line}: <h{level}> skips a level after <h{previous or '-'}>")
        previous = level
    problems += [f"loads from outside: {item}" for item in page.outside]
    return _result("html", started, not problems, "\n".join(problems))


# --- programs -----------------------------------------------------------------------------

_SELF_TEST_OK = re.compile(r"\bok\b", re.I)
_BAD_INPUT = b"abc\n\n-1\n"
_TRACEBACK = "Traceback (most recent call last)"
_NODE_MISSING = "node is not installed: apt-get install nodejs"


def _result(name: str, started: float, passed: bool, detail: str = "") -> CheckResult:
    """A check's outcome, timed from ``started``; failures are logged for staff."""
    if not passed:
        _LOGGER.info("%s check failed: %s", name, detail)
    return CheckResult(name, passed, detail, time.monotonic() - started)


def _tail(text: str, lines: int = 12) -> str:
    """The end of a program's output, where the error that matters is."""
    return "\n".join(text.strip().splitlines()[-lines:])


async def check_python(
    folder: Path,
    main: str = "main.py",
    *,
    timeout: float = 5.0,  # noqa: ASYNC109 - the program's limit, also its CPU limit
) -> CheckResult:
    """A program must compile, pass its ``--self-test`` and meet bad input without a traceback."""
    started = time.monotonic()
    result = functools.partial(_result, "python", started)

    try:
        compile(await asyncio.to_thread((folder / main).read_bytes), main, "exec")
    except SyntaxError as error:
        return result(False, f"{main} line {error.lineno}: {error.msg}")
    except (OSError, ValueError) as error:
        return result(False, f"{main} cannot be read: {error}")
    # Not -I (it drops the program's folder from sys.path) nor -S (it drops exit() and quit()).
    python = [sandbox_python(), "-s", "-B", main]
    try:
        own, bad = await asyncio.gather(
            run_sandboxed([*python, "--self-test"], files_from=folder, timeout=timeout),
            run_sandboxed(python, files_from=folder, timeout=timeout, stdin=_BAD_INPUT),
        )
    except OSError as error:
        return result(False, f"could not start Python: {error}")
    if own.timed_out:
        return result(False, f"--self-test did not finish within {timeout:g} s")
    if own.returncode != 0:
        return result(False, f"--self-test exited with {own.returncode}:\n{_tail(own.stderr)}")
    if not _SELF_TEST_OK.search(own.stdout):
        return result(False, f"--self-test did not print ok:\n{_tail(own.stdout)}")
    if bad.timed_out:
        return result(False, f"did not finish within {timeout:g} s on input {_BAD_INPUT!r}")
    if _TRACEBACK in bad.stderr or bad.returncode < 0:
        return result(False, f"crashed on input {_BAD_INPUT!r}:\n{_tail(bad.stderr)}")
    return result(True)


def _node_message(run: SandboxResult, name: str) -> str:
    """Node's complaint without the sandbox's paths and node's own stack."""
    if run.timed_out:
        return "node --check did not finish"
    keep = [
        re.sub(r"\S*/" + re.escape(name), name, line)
        for line in run.stderr.splitlines()
        if line.strip() and not line.lstrip().startswith("at ") and not line.startswith("Node.js")
    ]
    return "\n".join(keep[-8:])


def _write_files(folder: Path, files: dict[str, str]) -> None:
    """Put each script in its own file, because ``node --check`` takes one file."""
    for name, text in files.items():
        (folder / name).write_text(text, encoding="utf-8")


async def check_javascript(source: Path) -> CheckResult:
    """JavaScript, in a file or inline in a page, must at least parse (``node --check``)."""
    started = time.monotonic()
    result = functools.partial(_result, "javascript", started)

    node = shutil.which("node")
    if node is None:
        return result(False, _NODE_MISSING)
    try:
        text = await asyncio.to_thread(source.read_text, encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        return result(False, f"{source.name} cannot be read: {error}")
    if source.suffix.lower() in (".html", ".htm"):
        scripts = [
            (
                f"script-{n}.{'mjs' if kind == 'module' else 'js'}",
                f"inline script {n} (line {at})",
                js,
            )
            for n, (at, kind, js) in enumerate(_scan(text).scripts, 1)
        ]
    else:
        scripts = [(source.name, source.name, text)]
    with tempfile.TemporaryDirectory(prefix="jscheck-") as tmp:
        await asyncio.to_thread(_write_files, Path(tmp), {name: js for name, _, js in scripts})
        try:
            runs = await asyncio.gather(
                *(
                    run_sandboxed(
                        [node, "--check", name],
                        files_from=Path(tmp),
                        timeout=10.0,
                        memory_mb=NODE_MEMORY_MB,
                    )
                    for name, _, _ in scripts
                )
            )
        except OSError as error:
            return result(False, f"could not start node: {error}")
    errors = [
        f"{label}: {_node_message(run, name)}"
        for (name, label, _), run in zip(scripts, runs, strict=True)
        if run.returncode != 0 or run.timed_out
    ]
    return result(not errors, "\n".join(errors))
