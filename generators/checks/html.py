"""Pages must parse, be accessible in structure and load nothing from outside their folder."""

from __future__ import annotations

import posixpath
import re
import time
from html.parser import HTMLParser

from generators.checks.result import CheckResult, timed_result

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


def scan_page(html: str) -> _PageScanner:
    """Parse a page once with the stdlib parser."""
    scanner = _PageScanner()
    scanner.feed(html)
    scanner.close()
    return scanner


def find_outside_resources(html: str) -> list[str]:
    """Everything the page would load from outside its folder; links to follow do not count."""
    return scan_page(html).outside


def check_html(text: str) -> CheckResult:
    """A page must parse, be accessible in structure, and load nothing from outside."""
    started = time.monotonic()
    page = scan_page(text)
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
    return timed_result("html", started, not problems, "\n".join(problems))
