"""The assistant's own phrases, from ``dialogs/locales/<language>.yaml``.

Both languages must define the same keys with the same ``{placeholders}``; a gap is found when
the files load, not when a user reaches the missing phrase.
"""

from __future__ import annotations

import string
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from assistant.errors import LocaleError

LANGUAGES = ("ja", "en")


def _flatten(prefix: str, value: Any, out: dict[str, str | tuple[str, ...]], file: str) -> None:
    if isinstance(value, Mapping):
        for key, inner in value.items():
            if not isinstance(key, str):
                raise LocaleError(
                    f"{file}: {prefix}.{key}: a key must be text (quote words like yes and no)"
                )
            _flatten(f"{prefix}.{key}" if prefix else str(key), inner, out, file)
    elif isinstance(value, str):
        out[prefix] = value
    elif isinstance(value, list) and all(isinstance(v, str) for v in value):
        out[prefix] = tuple(value)
    else:
        raise LocaleError(f"{file}: {prefix}: must be a text or a list of texts")


def _placeholders(text: str | tuple[str, ...]) -> set[str]:
    texts = (text,) if isinstance(text, str) else text
    return {name for t in texts for _, name, _, _ in string.Formatter().parse(t) if name}


_END_MARKS = (".", "!", "?", "。", "！", "？")


@dataclass(frozen=True, slots=True)
class Phrases:
    """Every user-facing phrase in every language, looked up by dotted key."""

    table: Mapping[str, Mapping[str, str | tuple[str, ...]]]

    def say(self, language: str, key: str, *, typed: bool = False, **params: Any) -> str:
        """The phrase ``key`` in ``language`` with its placeholders filled; for someone who
        types, its ``typed.`` wording where there is one ("type or press", not "say")."""
        table = self.table[language]
        text = table.get(f"typed.{key}", table[key]) if typed else table[key]
        if not isinstance(text, str):
            raise LocaleError(f"{language}: {key}: is a list, not a phrase")
        if not params:
            return text
        for name, value in params.items():
            # "Got it: {value}." with a value that is a sentence of its own ("Come in, stay a
            # while.") said "a while.."; the value's own end mark is enough.
            if isinstance(value, str) and value.rstrip().endswith(_END_MARKS):
                for mark in (".", "。"):
                    text = text.replace("{" + name + "}" + mark, "{" + name + "}")
        return text.format(**params)

    def words(self, language: str, key: str) -> tuple[str, ...]:
        """A list entry (for example the ways to say "make another") in ``language``."""
        value = self.table[language][key]
        return (value,) if isinstance(value, str) else value

    def has(self, key: str) -> bool:
        """Whether ``key`` exists (in every language, which loading guarantees)."""
        return key in self.table[LANGUAGES[0]]


def load_phrases(directory: Path) -> Phrases:
    """Load and cross-check ``ja.yaml`` and ``en.yaml``; raises ``LocaleError`` naming the gap."""
    table: dict[str, dict[str, str | tuple[str, ...]]] = {}
    for language in LANGUAGES:
        path = directory / f"{language}.yaml"
        try:
            raw = yaml.safe_load(path.read_text(encoding="utf-8"))
        except (OSError, yaml.YAMLError) as err:
            raise LocaleError(f"{path}: cannot be loaded: {err}") from err
        flat: dict[str, str | tuple[str, ...]] = {}
        _flatten("", raw or {}, flat, str(path))
        table[language] = flat
    first, *others = LANGUAGES
    for other in others:
        for key in sorted(set(table[first]) ^ set(table[other])):
            missing_in = other if key in table[first] else first
            raise LocaleError(f"{directory / (missing_in + '.yaml')}: {key}: missing translation")
        for key, text in table[first].items():
            if _placeholders(text) != _placeholders(table[other][key]):
                raise LocaleError(
                    f"{directory}: {key}: placeholders differ between {first} and {other}"
                )
    return Phrases(table=table)
