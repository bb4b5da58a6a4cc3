"""The generators by kind, as the generation queue looks them up."""

from __future__ import annotations

from assistant.photos import PhotoStore
from assistant.ports import Generator
from generators.browser import BrowserChecker
from generators.calendar import DEFAULT_TIME_ZONE
from generators.page import PageGenerator
from generators.program import ProgramGenerator
from generators.template import TemplateRenderer


def build_generators(
    renderer: TemplateRenderer,
    browser: BrowserChecker | None,
    time_zone: str = DEFAULT_TIME_ZONE,
    photos: PhotoStore | None = None,
) -> dict[str, Generator]:
    """``page`` and ``program``; without a browser, browser programs skip the Chromium load.
    ``time_zone`` is the facility's, for event pages' calendar files; ``photos`` is where
    pages find the pictures users gave (none: photo answers are left out)."""
    return {
        "page": PageGenerator(renderer, time_zone, photos),
        "program": ProgramGenerator(renderer, browser),
    }
