"""The generators by kind, as the generation queue looks them up."""

from __future__ import annotations

from assistant.photos import PhotoStore
from assistant.ports import Generator
from generators.browser import BrowserChecker
from generators.page import PageGenerator
from generators.program import ProgramGenerator
from generators.template import TemplateRenderer


def build_generators(
    renderer: TemplateRenderer, browser: BrowserChecker | None, photos: PhotoStore | None = None
) -> dict[str, Generator]:
    """``page`` and ``program``; without a browser, browser programs skip the Chromium load.
    ``photos``: where pages find the pictures users gave (none: photo answers are left out)."""
    return {
        "page": PageGenerator(renderer, photos),
        "program": ProgramGenerator(renderer, browser),
    }
