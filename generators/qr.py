"""A QR code as inline SVG, for templates (the ``qr_svg`` filter; issue 15 part J).

Printed pages carry a QR code (a business card's contact details, a poster's link) drawn as an
inline ``<svg>``, so the page loads nothing from outside and prints sharply at any size. The
SVG is made by segno from the text alone: nothing of the text is written into the markup, so
no answer can reach the page through it. A text too long for any QR code gives no code.
"""

from __future__ import annotations

import segno
from markupsafe import Markup, escape


def qr_svg(text: object, label: object = "QR code", dark: object = "#000000") -> Markup:
    """``text`` as a QR code (inline SVG with ``role="img"`` and ``label`` as its name).

    An empty text, or one longer than a QR code holds, gives an empty string, so a template
    can write ``{% if qr %}`` and leave the box out.
    """
    data = str(text or "")
    if not data:
        return Markup("")
    try:
        code = segno.make(data, error="m")
    except (segno.DataOverflowError, ValueError):
        return Markup("")
    colour = str(dark) if _is_hex(str(dark)) else "#000000"
    svg = code.svg_inline(scale=1, border=2, dark=colour, light="#ffffff", omitsize=True)
    # segno writes ``<svg viewBox=... class="segno">``: name it for screen readers.
    opening = f'<svg role="img" aria-label="{escape(str(label))}" focusable="false" '
    return Markup(svg.replace("<svg ", opening, 1))


def _is_hex(value: str) -> bool:
    """Whether ``value`` is ``#rrggbb`` (the only colours the SVG accepts)."""
    digits = "0123456789abcdefABCDEF"
    return len(value) == 7 and value[0] == "#" and all(c in digits for c in value[1:])
