"""The checks an artifact must pass: pages load nothing from outside, programs run and parse."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from generators.checks.html import check_html, find_outside_resources
from generators.checks.javascript import check_javascript
from generators.checks.python import check_python
from generators.checks.result import CheckResult


def needs_node(test):  # noqa: ANN001, ANN201
    """node is installed by scripts/test; a missing node fails the check tests themselves."""
    return test


@pytest.mark.parametrize(
    ("snippet", "outside"),
    [
        ('<script src="https://cdn.example.com/x.js"></script>', "https://cdn.example.com/x.js"),
        ('<img src="//tracker.example.com/p.gif" alt="">', "//tracker.example.com/p.gif"),
        ('<link rel="stylesheet" href="http://fonts.example.com/a.css">', "http://fonts"),
        ('<link rel="icon" href="/favicon.ico">', "/favicon.ico"),
        ('<link rel="preconnect" href="https://x.example">', "https://x.example"),
        ('<img srcset="a.png 1x, https://x.example/b.png 2x" alt="">', "https://x.example/b.png"),
        ('<video poster="ftp://x.example/p.jpg"></video>', "ftp://x.example/p.jpg"),
        ('<form action="https://x.example/submit"></form>', "https://x.example/submit"),
        ('<object data="/service/admin"></object>', "/service/admin"),
        ("<style>body { background: url('https://x.example/bg.png') }</style>", "bg.png"),
        ('<style>@import "https://x.example/more.css";</style>', "more.css"),
        ("<style>p { background: u\\72l(//x.example/e.png) }</style>", "//x.example/e.png"),
        ('<div style="background-image: url(/secret.png)"></div>', "/secret.png"),
        ('<meta http-equiv="refresh" content="0; url=https://x.example">', "refresh"),
        ('<base href="https://x.example/">', "<base href>"),
        ('<svg><image xlink:href="https://x.example/i.svg"/></svg>', "https://x.example/i.svg"),
        ('<iframe srcdoc="&lt;img src=&quot;https://x.example/i&quot;&gt;"></iframe>', "srcdoc"),
        ('<img src=" ht\ntps://x.example/split.png" alt="">', "split.png"),
        ('<img src="../../escape.png" alt="">', "../../escape.png"),
        ('<script src="wss://x.example/socket"></script>', "wss://x.example/socket"),
        ('<a href="https://example.org/help">help</a>', None),
        ('<a href="mailto:desk@example.org">mail</a> <a href="tel:+81312345678">call</a>', None),
        ('<a href="#top">top</a> <img src="images/logo.png" alt="logo">', None),
        ('<img src="data:image/png;base64,iVBORw0KGgo=" alt="">', None),
        ('<img srcset="data:image/png;base64,AA,BB 1x, small.png 2x" alt="">', None),
        ('<link rel="stylesheet" href="style.css"><script src="app.js"></script>', None),
        ('<link rel="canonical" href="https://example.org/page">', None),
        ("<style>body { background: url(bg.png) } /* url(https://x.example) */</style>", None),
        ("<p>Visit https://example.org or url(https://x.example) in text</p>", None),
    ],
)
def test_outside_resources(snippet: str, outside: str | None) -> None:
    found = find_outside_resources(snippet)
    if outside is None:
        assert found == []
    else:
        assert len(found) == 1
        assert outside in found[0]


GOOD_PAGE = """<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>Lost and found</title>
<link rel="stylesheet" href="style.css"></head>
<body>
<h1>Lost and found</h1>
<p>Ask at the front desk.<p>Open daily.
<h2>Hours</h2><ul><li>Mon<li>Tue</ul>
<h3>Holidays</h3>
<h2>Contact</h2>
<img src="desk.png" alt="The front desk"><br>
<a href="https://example.org">more</a>
</body>
</html>
"""


def test_a_good_page_passes() -> None:
    result = check_html(GOOD_PAGE)
    assert result == CheckResult("html", True, "", result.seconds)


@pytest.mark.parametrize(
    ("old", "new", "complaint"),
    [
        ("<!doctype html>", "", "doctype"),
        ('<html lang="en">', "<html>", "lang"),
        ("<title>Lost and found</title>", "", "<title>"),
        ("<h1>Lost and found</h1>", "<h1>Lost</h1><h1>Found</h1>", "exactly one <h1>, found 2"),
        ("<h3>Holidays</h3>", "<h4>Holidays</h4>", "line 9: <h4> skips a level"),
        ('alt="The front desk"', "", "line 11: <img> has no alt"),
        ('href="style.css"', 'href="https://cdn.example/s.css"', "https://cdn.example/s.css"),
        ("<h2>Contact</h2>", "<div><h2>Contact</h2>", "<div> from line 10"),
        ("<br>", "</span>", "</span> closes nothing"),
    ],
)
def test_a_bad_page_fails_saying_why(old: str, new: str, complaint: str) -> None:
    assert old in GOOD_PAGE
    result = check_html(GOOD_PAGE.replace(old, new))
    assert not result.passed
    assert result.name == "html"
    assert complaint in result.detail


GOOD_PROGRAM = '''
import sys


def average(numbers):
    """Mean of a list of numbers."""
    return sum(numbers) / len(numbers)


def main():
    values = []
    for line in sys.stdin:
        try:
            values.append(float(line))
        except ValueError:
            print(f"not a number: {line.strip()!r}", file=sys.stderr)
    print(average(values) if values else "no numbers")
    return 0


if __name__ == "__main__":
    if "--self-test" in sys.argv:
        assert average([1, 2, 3]) == 2
        print("ok")
        exit(0)
    sys.exit(main())
'''


async def check_program(tmp_path: Path, source: str, **kwargs: float) -> CheckResult:
    """Write ``main.py`` into an artifact folder and check it."""
    (tmp_path / "main.py").write_text(textwrap.dedent(source))
    return await check_python(tmp_path, **kwargs)


async def test_a_good_program_passes(tmp_path: Path) -> None:
    result = await check_program(tmp_path, GOOD_PROGRAM)
    assert (result.name, result.passed, result.detail) == ("python", True, "")


async def test_a_syntax_error_names_the_line(tmp_path: Path) -> None:
    result = await check_program(tmp_path, "x = 1\n\nprint(x +)\n")
    assert not result.passed
    assert "main.py line 3" in result.detail


async def test_a_failing_self_test_fails_with_its_error(tmp_path: Path) -> None:
    bad = GOOD_PROGRAM.replace("== 2", "== 3")
    result = await check_program(tmp_path, bad)
    assert not result.passed
    assert "--self-test exited with 1" in result.detail
    assert "AssertionError" in result.detail


async def test_a_self_test_that_does_not_say_ok_fails(tmp_path: Path) -> None:
    result = await check_program(tmp_path, GOOD_PROGRAM.replace('print("ok")', 'print("broken")'))
    assert not result.passed
    assert "did not print ok" in result.detail


async def test_a_traceback_on_bad_input_fails(tmp_path: Path) -> None:
    fragile = GOOD_PROGRAM.replace("except ValueError:", "except ZeroDivisionError:")
    result = await check_program(tmp_path, fragile)
    assert not result.passed
    assert "crashed on input" in result.detail
    assert "ValueError" in result.detail


async def test_a_program_that_hangs_fails(tmp_path: Path) -> None:
    hanging = GOOD_PROGRAM.replace('print("ok")', "while True: pass")
    result = await check_program(tmp_path, hanging, timeout=1.0)
    assert not result.passed
    assert "did not finish within 1 s" in result.detail


async def test_a_missing_main_fails(tmp_path: Path) -> None:
    result = await check_python(tmp_path)
    assert not result.passed
    assert "main.py cannot be read" in result.detail


@needs_node
async def test_good_javascript_passes(tmp_path: Path) -> None:
    source = tmp_path / "main.js"
    source.write_text("const total = [1, 2, 3].reduce((a, b) => a + b, 0);\nconsole.log(total);\n")
    result = await check_javascript(source)
    assert (result.name, result.passed, result.detail) == ("javascript", True, "")


@needs_node
async def test_bad_javascript_fails_with_nodes_message(tmp_path: Path) -> None:
    source = tmp_path / "main.js"
    source.write_text("function f() {\n  return 1 +;\n}\n")
    result = await check_javascript(source)
    assert not result.passed
    assert "main.js:2" in result.detail
    assert "SyntaxError" in result.detail
    assert "/tmp/" not in result.detail  # no sandbox paths for staff to puzzle over


PAGE_WITH_SCRIPTS = """<!doctype html><html lang="en"><head><title>t</title>
<script src="app.js"></script>
<script type="application/ld+json">{"not": javascript}</script>
<script>document.title = "ready";</script>
<script type="module">import { x } from "./x.js"; console.log(x);</script>
</head><body><h1>t</h1>
<script>{SECOND}</script>
</body></html>
"""


@needs_node
async def test_inline_scripts_in_a_page_are_checked(tmp_path: Path) -> None:
    page = tmp_path / "index.html"
    page.write_text(PAGE_WITH_SCRIPTS.replace("{SECOND}", "let n = 1;"))
    assert (await check_javascript(page)).passed

    page.write_text(PAGE_WITH_SCRIPTS.replace("{SECOND}", "let n = ;"))
    result = await check_javascript(page)
    assert not result.passed
    assert result.detail.startswith("inline script 3 (line 7)")
    assert "SyntaxError" in result.detail


async def test_without_node_the_check_fails_saying_how_to_install_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    source = tmp_path / "main.js"
    source.write_text("console.log(1);\n")
    result = await check_javascript(source)
    assert not result.passed
    assert result.detail == "node is not installed: apt-get install nodejs"


def test_model_written_functions_must_be_plain_arithmetic() -> None:
    from generators.checks.code import CodeRejected, check_function

    good = (
        'def extra_change(prices):\n    """Change from the next 1000"""\n'
        "    total = sum(prices)\n    rounded = (int(total) // 1000 + 1) * 1000\n"
        "    return rounded - total"
    )
    check_function(good, "extra_change", "Change from the next 1000")
    bad = {
        "two functions": good + "\n\ndef extra_other(prices):\n    return 1",
        "a lambda": 'def extra_x(prices):\n    """d"""\n    f = lambda: 1\n    return f()',
        "a while loop": 'def extra_x(prices):\n    """d"""\n    while True:\n        pass',
        "an unknown name": 'def extra_x(prices):\n    """d"""\n    return globals()',
        "a second argument": 'def extra_x(prices, more):\n    """d"""\n    return 1',
        "a default": 'def extra_x(prices=[]):\n    """d"""\n    return 1',
        "another docstring": 'def extra_x(prices):\n    """other"""\n    return 1',
        "a private name": 'def extra_x(prices):\n    """d"""\n    _a = 1\n    return _a',
    }
    for why, source in bad.items():
        name = "extra_change" if why == "two functions" else "extra_x"
        docstring = "Change from the next 1000" if why == "two functions" else "d"
        with pytest.raises(CodeRejected):
            check_function(source, name, docstring)
            raise AssertionError(why)


@pytest.mark.parametrize(
    "constant",
    [
        '"\\x1b[2J"',  # clears the terminal the receipt is printed on
        '"\\u009b31m"',  # the one-character CSI
        '"Pay at https://evil.example"',
        '"Pay at www.evil.example"',
        '"Log in: evil.example/login"',
        '"Scan ftp:files"',
        '"Write to mailto:me"',
        '"Paste data:text/html,hi"',
        'f"Pay {sum(prices)} at evil.example"',
        '"\\ud800"',
    ],
)
def test_model_written_text_constants_carry_no_control_characters_or_links(
    constant: str,
) -> None:
    from generators.checks.code import CodeRejected, check_function

    source = f'def extra_note(prices):\n    """Note"""\n    return {constant}'
    with pytest.raises(CodeRejected):
        check_function(source, "extra_note", "Note")


def test_plain_text_constants_and_numbers_with_points_are_fine() -> None:
    from generators.checks.code import check_function

    source = (
        'def extra_note(prices):\n    """Note"""\n'
        '    return f"Total: {sum(prices):.2f} yen, e.g. 1.5 each. Thank you!"'
    )
    check_function(source, "extra_note", "Note")
