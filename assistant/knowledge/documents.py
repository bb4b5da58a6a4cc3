"""The facility's own help documents, kept as files for the knowledge base (issue 16).

Staff upload, replace and delete documents in the console; they live as plain ``*.md`` and
``*.txt`` files in one folder (``<data_dir>/knowledge_documents``), which is then ingested
like any folder of help texts (``KnowledgeBase.ingest``: a changed file is embedded again, a
deleted one is taken out). Files, not rows, so ``assistant kb ingest`` and a backup see the
same documents the console shows. Every check happens before a byte is written, and each
refusal carries a code the console turns into a sentence in the staff member's language.
"""

from __future__ import annotations

import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path

from assistant.knowledge.passages import SUFFIXES

FOLDER_NAME = "knowledge_documents"
# Below the ingester's own limit (2 MB) and the server's request limit (2 MiB, the form's
# fields included), so an upload too large is refused here, with a sentence, not by aiohttp.
MAX_DOCUMENT_BYTES = 1024 * 1024
MAX_NAME = 100
# A document's name: letters (any script), digits, spaces, dots, dashes and underscores;
# never a path (no slash), never hidden (no leading dot).
_NAME = re.compile(r"^[^\W][\w .\-]*$")


class DocumentRefused(Exception):
    """A document that cannot be stored; ``code`` names why (``type``, ``size``, ``name``,
    ``text``, ``exists``, ``missing``)."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


@dataclass(frozen=True, slots=True)
class Document:
    """One stored document: its file name, size in bytes and when it last changed."""

    name: str
    size: int
    modified: float


def documents_folder(data_dir: Path) -> Path:
    """Where the console keeps the knowledge documents of a service's data folder."""
    return data_dir / FOLDER_NAME


def checked_name(name: str) -> str:
    """``name`` when it may be a document's file name, else ``DocumentRefused``."""
    name = name.strip()
    if not name or len(name) > MAX_NAME or not _NAME.match(name):
        raise DocumentRefused("name")
    if Path(name).suffix.lower() not in SUFFIXES:
        raise DocumentRefused("type")
    return name


def checked_text(data: bytes) -> str:
    """``data`` as the text of a help document, else ``DocumentRefused``."""
    if len(data) > MAX_DOCUMENT_BYTES:
        raise DocumentRefused("size")
    if b"\x00" in data:
        raise DocumentRefused("text")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        raise DocumentRefused("text") from err
    if not text.strip():
        raise DocumentRefused("text")
    return text


class KnowledgeDocuments:
    """The documents folder: list, save (new or replacing) and delete, each file atomically.

    Blocking file work: callers in the event loop use ``asyncio.to_thread``."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def list(self) -> list[Document]:
        """Every document, by name."""
        if not self.folder.is_dir():
            return []
        found = []
        for path in sorted(self.folder.iterdir()):
            if path.is_file() and not path.name.startswith("."):
                stat = path.stat()
                found.append(Document(path.name, stat.st_size, stat.st_mtime))
        return found

    def save(self, name: str, data: bytes, *, replace: bool = False) -> Document:
        """Store ``data`` as ``name``; an existing document only when ``replace`` is set,
        and ``replace`` only an existing one (a typo must not add a second copy)."""
        name = checked_name(name)
        checked_text(data)
        target = self.folder / name
        if target.exists() != replace:
            raise DocumentRefused("missing" if replace else "exists")
        self.folder.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=self.folder, prefix=".upload-")
        try:
            with os.fdopen(handle, "wb") as stream:
                stream.write(data)
            os.replace(temporary, target)  # readers see the old file or the new, never half
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
        stat = target.stat()
        return Document(name, stat.st_size, stat.st_mtime)

    def delete(self, name: str) -> None:
        """Remove the document ``name`` (``DocumentRefused("missing")`` when there is none)."""
        target = self.folder / checked_name(name)
        if not target.is_file():
            raise DocumentRefused("missing")
        target.unlink()
