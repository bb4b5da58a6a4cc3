"""What the model must write for each prompt kind, as pydantic models.

The same model is both the question and the check: its JSON schema goes to the model (Ollama's
``format``, llama.cpp's grammar, OpenAI's ``response_format``), and what comes back is
validated against it again, because a server may ignore the schema. Texts must be plain: no
markup, no template syntax, no links (``checks/model_text.py``) unless the link is in the
person's own answers, which come in as the validation context ``{"given": (...)}``. Numbers
are strict: ``true`` is not a number, and a whole number stays whole.
"""

from __future__ import annotations

import re
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StrictFloat,
    StrictInt,
    StringConstraints,
    ValidationError,
    ValidationInfo,
    model_validator,
)

from generators.checks.model_text import text_problem

# Plain text only: no markup, no template syntax (links and control characters: text_problem).
_UNSAFE = re.compile(r"[<>]|\{\{|\{%")
_JAPANESE = re.compile(r"[\u3040-\u30ff\u3400-\u9fff]")


# Words a page never says to its reader but a model answering its prompt (or obeying an
# injected answer) does: talk of instructions, prompts, rules or itself.
_INSTRUCTIONS = re.compile(
    r"\b(?:ignore|disregard|forget)\b.{0,30}\b(?:instructions?|rules|above|previous|prompt)"
    r"|\b(?:system|user)\s+prompt|\bas an? (?:ai|language model|assistant)\b|\bjson\b"
    r"|指示|命令|プロンプト|ルールを無視|AIとして|言語モデル",
    re.IGNORECASE,
)


def _plain(value: str, info: ValidationInfo) -> str:
    if _UNSAFE.search(value):
        raise ValueError("not plain text")
    if _INSTRUCTIONS.search(value):
        raise ValueError("talks about instructions, not to the page's reader")
    given = (info.context or {}).get("given", ())
    problem = text_problem(value, given)
    if problem is not None:
        raise ValueError(problem)
    return value


_PLAIN = AfterValidator(_plain)


def _length(longest: int, shortest: int = 1) -> StringConstraints:
    """``shortest`` to ``longest`` characters, spaces around the text not counted."""
    return StringConstraints(strip_whitespace=True, min_length=shortest, max_length=longest)


# Plain texts of at most N characters (the limits the prompts state).
Plain60 = Annotated[str, _length(60), _PLAIN]
Plain80 = Annotated[str, _length(80), _PLAIN]
Plain100 = Annotated[str, _length(100), _PLAIN]
Plain120 = Annotated[str, _length(120), _PLAIN]
Plain150 = Annotated[str, _length(150), _PLAIN]
Plain400 = Annotated[str, _length(400), _PLAIN]
ShortResult = Annotated[str, _length(120, 0), _PLAIN]


class _Output(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class PageText(_Output):
    """``page_text``: the few texts of a page."""

    headline: Plain60
    tagline: Plain100
    about: Plain400
    highlights: list[Plain80] = Field(min_length=3, max_length=3)
    call_to_action: Plain60
    # One short description per thing sold, in the answers' order (issue 15: the menu).
    item_notes: list[Plain60] = Field(default_factory=list, max_length=10)

    @model_validator(mode="after")
    def _in_the_persons_language(self, info: ValidationInfo) -> PageText:
        """Japanese pages get Japanese words and English pages English ones: a model that
        answered in the wrong language has not written this page's text."""
        language = (info.context or {}).get("language")
        if language is None:
            return self
        for name in ("about", "tagline"):
            japanese = _JAPANESE.findall(getattr(self, name))
            if language == "ja" and not japanese:
                raise ValueError(f"{name}: not in Japanese")
            if language == "en" and len(japanese) > len(getattr(self, name)) // 3:
                raise ValueError(f"{name}: not in English")
        return self


class QuizItem(_Output):
    """One question, its three or four options and the position of the right one."""

    question: Plain150
    options: list[Plain60] = Field(min_length=3, max_length=4)
    answer: Annotated[StrictInt, Field(ge=0, le=3)]

    @model_validator(mode="after")
    def _answer_is_an_option(self) -> QuizItem:
        if self.answer >= len(self.options):
            raise ValueError("answer: no such option")
        return self


class QuizItems(_Output):
    """``quiz_items``: the questions of a quiz game."""

    items: list[QuizItem] = Field(min_length=3, max_length=10)


Price = (
    Annotated[StrictInt, Field(ge=0, le=10_000_000)]
    | Annotated[StrictFloat, Field(ge=0, le=10_000_000)]
)


class ProgramFunction(_Output):
    """One extra function; its source is checked by its syntax tree (``checks/code.py``)."""

    # The pattern is the code check's own (``checks/code.py`` NAME): in the JSON schema it
    # becomes part of the grammar, so the model cannot name a function "add_tax_to_prices".
    name: Annotated[
        str, StringConstraints(strip_whitespace=True, pattern=r"^extra_[a-z][a-z0-9_]{2,40}$")
    ]
    docstring: Plain120
    source: Annotated[str, StringConstraints(min_length=20, max_length=1500)]
    example_prices: list[Price] = Field(max_length=10)
    example_result: StrictInt | StrictFloat | ShortResult


class ProgramFunctions(_Output):
    """``program_functions``: one to three extra functions for the shopping program."""

    functions: list[ProgramFunction] = Field(min_length=1, max_length=3)


OUTPUTS: dict[str, type[BaseModel]] = {
    "page_text": PageText,
    "quiz_items": QuizItems,
    "program_functions": ProgramFunctions,
}


def json_schema(model: type[BaseModel]) -> dict[str, Any]:
    """The model's JSON schema with every ``$ref`` written out: grammar converters and small
    servers handle a flat schema best."""
    schema = model.model_json_schema()
    definitions = schema.pop("$defs", {})

    def inline(node: Any) -> Any:
        if isinstance(node, list):
            return [inline(item) for item in node]
        if not isinstance(node, dict):
            return node
        if "$ref" in node:
            return inline(definitions[node["$ref"].rsplit("/", 1)[1]])
        flat = {}
        for key, value in node.items():
            if key == "properties":
                flat[key] = {name: inline(item) for name, item in value.items()}
            elif key not in ("title", "description"):  # notes for developers, not the model
                flat[key] = inline(value)
        return flat

    flat: dict[str, Any] = inline(schema)
    return flat


def problem(error: ValidationError) -> str:
    """The first thing wrong, as ``$.path: message`` (recorded with the artifact)."""
    first = error.errors()[0]
    path = "$" + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in first["loc"])
    return f"{path}: {first['msg']}"
