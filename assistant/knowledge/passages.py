"""Help texts into passages: reading files safely, splitting them, and telling ja from en.

Kept apart from the database so it can be tested and reused (the generators may want the same
passages as examples) without chromadb or a model. Everything here is pure and fast.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

# A passage is what one answer shows or speaks, and what one embedding stands for. e5-small
# reads at most 512 tokens, and a Japanese character can be one token: 500 characters stay
# inside the window in both languages and are still short enough to read aloud.
MAX_CHARS = 500
# Files bigger than this are not help texts (a log, a data dump); refuse them with a reason.
MAX_FILE_BYTES = 2 * 1024 * 1024
SUFFIXES = (".md", ".txt")

_HEADING = re.compile(r"^ {0,3}(#{1,6})[ \t]+(.+?)[ \t]*#*[ \t]*$")
_FENCE = re.compile(r"^ {0,3}(```|~~~)")
_JAPANESE = re.compile(r"[\u3040-\u30ff\u31f0-\u31ff\u3400-\u4dbf\u4e00-\u9fff\uff66-\uff9f]")
_LATIN = re.compile(r"[A-Za-z]")
# A sentence ends at Japanese end punctuation, or at Western punctuation before a space (so
# ``main.py`` is not two sentences), with any closing quotes and spaces after it.
_SENTENCE_END = re.compile(r"(?:[。！？]|[.!?](?=[\s」』）)\"']|$))[」』）)\"']*\s*")


class UnreadableFile(Exception):
    """A file that cannot be a help text; ``reason`` says why in words staff understand."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class Chunk:
    """One passage before it is stored: its text, nearest heading and the headings above it."""

    text: str
    title: str
    path: tuple[str, ...]

    @property
    def context(self) -> str:
        """What gets embedded: the headings give a short paragraph its topic."""
        return f"{' / '.join(self.path or (self.title,))}\n{self.text}"


def detect_language(text: str) -> str:
    """``"ja"`` when kana or kanji carry the text, else ``"en"``.

    A single 「ヘルプ」 quoted in an English help text must not make it Japanese, and a
    Japanese text full of ``python main.py`` must stay Japanese. One Japanese character says
    about as much as three Latin letters, so that is the weight used.
    """
    japanese = len(_JAPANESE.findall(text))
    if not japanese:
        return "en"
    return "ja" if japanese * 3 >= len(_LATIN.findall(text)) else "en"


def read_text_file(path: Path) -> str:
    """The file as text, or ``UnreadableFile`` saying why it cannot be one."""
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise UnreadableFile(
                f"too large ({size / 1_048_576:.1f} MB; help texts are at most "
                f"{MAX_FILE_BYTES // 1_048_576} MB)"
            )
        data = path.read_bytes()
    except OSError as err:
        raise UnreadableFile(f"cannot be read: {err.strerror or err}") from err
    if b"\x00" in data:
        raise UnreadableFile("a binary file, not text")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        raise UnreadableFile(
            f"not UTF-8 text (byte {err.start}); save it as UTF-8 and ingest again"
        ) from err
    if not text.strip():
        raise UnreadableFile("empty")
    return text


def find_text_files(directory: Path) -> list[Path]:
    """``*.md`` and ``*.txt`` below ``directory``, sorted, leaving out hidden files and folders."""
    found = []
    for path in directory.rglob("*"):
        relative = path.relative_to(directory)
        if any(part.startswith(".") for part in relative.parts):
            continue
        if path.suffix.lower() in SUFFIXES and (path.is_file() or path.is_symlink()):
            found.append(path)
    return sorted(found)


def _blocks(lines: list[str]) -> list[str]:
    """Paragraphs separated by blank lines; a fenced code block stays one block."""
    blocks: list[str] = []
    current: list[str] = []
    fenced = False
    for line in lines:
        if _FENCE.match(line):
            fenced = not fenced
        if not line.strip() and not fenced:
            if current:
                blocks.append("\n".join(current).strip())
                current = []
            continue
        current.append(line.rstrip())
    if current:
        blocks.append("\n".join(current).strip())
    return [block for block in blocks if block]


def _sentences(block: str) -> list[str]:
    """Sentences with their trailing spaces, so joining them gives the block back exactly."""
    sentences = []
    start = 0
    for end in _SENTENCE_END.finditer(block):
        sentences.append(block[start : end.end()])
        start = end.end()
    if start < len(block):
        sentences.append(block[start:])
    return sentences


def _pieces(block: str, limit: int) -> list[str]:
    """A block no longer than ``limit``: by sentences, and by force for one endless sentence."""
    if len(block) <= limit:
        return [block]
    pieces: list[str] = []
    current = ""
    for sentence in _sentences(block):
        if current and len((current + sentence).rstrip()) > limit:
            pieces.append(current)
            current = ""
        current += sentence
        while len(current.rstrip()) > limit:
            pieces.append(current[:limit])
            current = current[limit:]
    pieces.append(current)
    return [piece.strip() for piece in pieces if piece.strip()]


def _pack(blocks: list[str], limit: int) -> list[str]:
    """Neighbouring paragraphs together while they fit, so a passage is a whole thought."""
    packed: list[str] = []
    current = ""
    for block in blocks:
        for piece in _pieces(block, limit):
            if current and len(current) + 2 + len(piece) > limit:
                packed.append(current)
                current = piece
            else:
                current = f"{current}\n\n{piece}" if current else piece
    if current:
        packed.append(current)
    return packed


def split_text(text: str, fallback_title: str, limit: int = MAX_CHARS) -> list[Chunk]:
    """Markdown (or plain text) into passages: one per heading section, split when too long.

    Each passage keeps its nearest heading as its title; text before any heading gets
    ``fallback_title`` (the file's name). Headings inside code blocks are not headings.
    """
    sections: list[tuple[tuple[str, ...], list[str]]] = []
    stack: list[tuple[int, str]] = []
    lines: list[str] = []
    fenced = False
    for line in text.splitlines():
        if _FENCE.match(line):
            fenced = not fenced
        heading = None if fenced else _HEADING.match(line)
        if heading is None:
            lines.append(line)
            continue
        sections.append((tuple(title for _, title in stack), lines))
        level = len(heading.group(1))
        stack = [(lvl, title) for lvl, title in stack if lvl < level]
        stack.append((level, heading.group(2).strip()))
        lines = []
    sections.append((tuple(title for _, title in stack), lines))
    chunks = []
    for path, body in sections:
        for passage in _pack(_blocks(body), limit):
            chunks.append(
                Chunk(text=passage, title=path[-1] if path else fallback_title, path=path)
            )
    return chunks
