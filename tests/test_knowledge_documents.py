"""The knowledge documents folder (issue 16, part K): what may be stored, replaced and
deleted, checked before anything is written."""

from __future__ import annotations

from pathlib import Path

import pytest

from assistant.knowledge.documents import (
    MAX_DOCUMENT_BYTES,
    DocumentRefused,
    KnowledgeDocuments,
    documents_folder,
)


def _refused(documents: KnowledgeDocuments, name: str, data: bytes, **options: bool) -> str:
    with pytest.raises(DocumentRefused) as refused:
        documents.save(name, data, **options)
    return refused.value.code


def test_a_text_document_is_stored_replaced_and_deleted(tmp_path: Path) -> None:
    documents = KnowledgeDocuments(documents_folder(tmp_path))
    documents.save("opening hours.md", b"# Hours\nWe open at nine.")
    assert [d.name for d in documents.list()] == ["opening hours.md"]
    assert _refused(documents, "opening hours.md", b"Again") == "exists"
    documents.save("opening hours.md", b"We open at ten.", replace=True)
    assert (documents.folder / "opening hours.md").read_text() == "We open at ten."
    assert _refused(documents, "other.md", b"text", replace=True) == "missing"
    documents.delete("opening hours.md")
    assert documents.list() == []
    with pytest.raises(DocumentRefused, match="missing"):
        documents.delete("opening hours.md")


@pytest.mark.parametrize(
    ("name", "data", "code"),
    [
        ("guide.pdf", b"%PDF-1.7", "type"),
        ("guide", b"text", "type"),
        ("../escape.md", b"text", "name"),
        (".hidden.md", b"text", "name"),
        ("guide.txt", b"\x00\x01binary", "text"),
        ("guide.txt", "Shift-JISの文".encode("shift_jis"), "text"),
        ("guide.txt", b"   \n", "text"),
        ("guide.txt", b"a" * (MAX_DOCUMENT_BYTES + 1), "size"),
    ],
)
def test_what_is_not_a_help_text_is_refused_and_nothing_written(
    tmp_path: Path, name: str, data: bytes, code: str
) -> None:
    documents = KnowledgeDocuments(documents_folder(tmp_path))
    assert _refused(documents, name, data) == code
    assert documents.list() == []
    assert not (tmp_path / "escape.md").exists()


def test_a_japanese_file_name_is_a_name(tmp_path: Path) -> None:
    documents = KnowledgeDocuments(tmp_path / "docs")
    documents.save("利用案内.txt", "受付は九時からです。".encode())
    assert [d.name for d in documents.list()] == ["利用案内.txt"]
