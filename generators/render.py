"""Rendering job templates with jinja2, safely.

Markup templates autoescape; every template uses ``StrictUndefined`` so a missing answer is an
error at render time, never an empty hole in the artifact. Answers reach code only through the
``py`` and ``js`` filters, which turn them into literals.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jinja2

from generators.event import event_facts
from generators.qr import qr_svg
from generators.sections import section_helpers

TEMPLATES_DIR = Path(__file__).parent / "templates"

# Which file a template becomes inside the artifact folder, by the suffix before ``.j2``.
OUTPUT_NAMES = {".html": "index.html", ".py": "main.py", ".js": "main.js", ".md": "README.md"}


def python_literal(value: Any) -> str:
    """A Python literal for a JSON-like answer value (str, number, bool, list, None)."""
    if isinstance(value, bool) or value is None:
        return repr(value)
    if isinstance(value, int | float | str):
        return repr(value)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(python_literal(v) for v in value) + "]"
    if isinstance(value, dict):
        items = ", ".join(
            f"{python_literal(str(k))}: {python_literal(v)}" for k, v in value.items()
        )
        return "{" + items + "}"
    raise TypeError(f"cannot write {type(value).__name__} as a Python literal")


def javascript_literal(value: Any) -> str:
    """A JSON literal that is also safe inside an HTML ``<script>`` element."""
    text = json.dumps(value, ensure_ascii=False)
    return (
        text.replace("<", "\\u003c")
        .replace(">", "\\u003e")
        .replace("&", "\\u0026")
        .replace("\u2028", "\\u2028")
        .replace("\u2029", "\\u2029")
    )


def css_string(value: Any) -> str:
    """A CSS string literal (with quotes) that cannot close its rule or the style element."""
    out = []
    for char in str(value):
        if char.isalnum() or char in " -_.,!?":
            out.append(char)
        else:
            out.append(f"\\{ord(char):06x}")
    return '"' + "".join(out) + '"'


def make_environment(templates_dir: Path = TEMPLATES_DIR) -> jinja2.Environment:
    """The one jinja2 environment every generator uses."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(templates_dir)),
        autoescape=jinja2.select_autoescape(
            enabled_extensions=("html", "htm", "xml", "svg", "html.j2", "svg.j2"),
            default_for_string=True,
        ),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["py"] = python_literal
    env.filters["js"] = lambda v: jinja2.utils.markupsafe.Markup(javascript_literal(v))
    env.filters["css_string"] = lambda v: jinja2.utils.markupsafe.Markup(css_string(v))
    env.globals["event_facts"] = event_facts  # the event page's facts (generators/event.py)
    # Price lists, hours tables, map/tel/mailto links for page sections (issue 15).
    env.globals["sections"] = section_helpers()
    env.filters["qr_svg"] = qr_svg  # issue 15 part J: a QR code drawn inline (generators/qr.py)
    return env


def output_name(template: str) -> str:
    """The file name a template renders to inside an artifact."""
    stem = template[:-3] if template.endswith(".j2") else template
    suffix = Path(stem).suffix
    return OUTPUT_NAMES.get(suffix, Path(stem).name)
