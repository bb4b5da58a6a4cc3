"""Versioned prompt files as LangChain chat-prompt templates.

A prompt is ``KIND.vN.md`` in ``generators/prompts/``: the system message, with ``{name}``
fields filled in per call (``{language_name}``); the user message is the request the caller
builds (the person's answers as quoted JSON data). Prompts are never edited in place: a change
is a new version, and the version that made an artifact or filled a description is recorded,
so a change can be traced.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from assistant.config import PROJECT_ROOT

PROMPTS_DIR = PROJECT_ROOT / "generators" / "prompts"
# How a prompt names the language the model must write in.
LANGUAGE_NAMES = {"ja": "Japanese (やさしい日本語)", "en": "English"}


def newest_prompt(kind: str, prompts_dir: Path = PROMPTS_DIR) -> Path:
    """The newest ``kind.vN.md`` (by number: v10 is newer than v9)."""
    versions = sorted(
        prompts_dir.glob(f"{kind}.v*.md"), key=lambda p: int(p.stem.rsplit(".v", 1)[1])
    )
    if not versions:
        raise FileNotFoundError(f"no prompt for {kind} in {prompts_dir}")
    return versions[-1]


@dataclass(frozen=True)
class VersionedPrompt:
    """One prompt file as a ``ChatPromptTemplate``: system text, then the request."""

    kind: str
    version: str
    template: Any  # langchain_core.prompts.ChatPromptTemplate

    @property
    def name(self) -> str:
        """``page_text.v1``: what is recorded with what it made."""
        return f"{self.kind}.{self.version}"

    def messages(self, request: str, language: str = "en") -> tuple[str, str]:
        """The system and user messages for one call."""
        values = {"request": request, "language_name": LANGUAGE_NAMES.get(language, "English")}
        wanted = set(self.template.input_variables)
        system, user = self.template.format_messages(
            **{k: v for k, v in values.items() if k in wanted}
        )
        return str(system.content), str(user.content)


@functools.cache
def load_prompt(path: Path) -> VersionedPrompt:
    """A prompt file, read once: it is part of the release, not edited while running."""
    from langchain_core.prompts import ChatPromptTemplate

    kind, version = path.stem.rsplit(".", 1)
    system = path.read_text(encoding="utf-8")
    template = ChatPromptTemplate.from_messages([("system", system), ("human", "{request}")])
    return VersionedPrompt(kind, version, template)


def prompt_for(kind: str, prompts_dir: Path = PROMPTS_DIR) -> VersionedPrompt:
    """The newest version of a prompt kind."""
    return load_prompt(newest_prompt(kind, prompts_dir))
