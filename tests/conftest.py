"""Shared fixtures: a real SQLite file per test, the shipped jobs and phrases, a fixed clock."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from assistant.config import PROJECT_ROOT
from assistant.dialog.manager import DialogManager
from assistant.generation.queue import GenerationQueue
from assistant.jobs.catalog import JobCatalog
from assistant.jobs.loader import load_jobs
from assistant.jobs.phrases import Phrases, load_phrases
from assistant.store.sqlite import SQLiteStore
from generators.registry import build_generators
from generators.template import TemplateRenderer
from testing.walk import FIXED_NOW, english_manager

# The staff console screens' browser fixtures (``browser``, ``served``); a module that
# defines its own fixture of the same name uses its own. The real PostgreSQL of the store's
# port suite (``postgres_server``, one per test process, and ``postgres_url``, a database
# per test; issue 17).
pytest_plugins = [
    "testing.staff_browser",
    "testing.postgres",
    "testing.smtp",
    "tests.store_backends",
]

__all__ = ["FIXED_NOW"]  # tests import the fixed clock from here

# The product's default language model is the embedded Qwen (1.8 GB in memory, seconds per
# reply): tests of the template path, and the `assistant` processes they start, run without a
# model unless they choose a backend themselves, as tests/test_llm_qwen.py and the fake-Ollama
# tests do (with `load_settings(environ=...)` or their own environment).
os.environ.setdefault("ASSISTANT_LLM_BACKEND", "none")
# Links name the address a test started its server on, not this machine's LAN address (the
# product's default, issue 14): tests/test_lan_links.py turns it on.
os.environ.setdefault("ASSISTANT_LAN_LINKS", "false")


@pytest.fixture(scope="session")
def catalog() -> JobCatalog:
    return load_jobs(PROJECT_ROOT / "dialogs" / "jobs")


@pytest.fixture(scope="session")
def phrases() -> Phrases:
    return load_phrases(PROJECT_ROOT / "dialogs" / "locales")


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[SQLiteStore]:
    store = SQLiteStore(tmp_path / "assistant.db")
    await store.open()
    yield store
    await store.close()


@pytest.fixture
def manager(catalog: JobCatalog, phrases: Phrases, store: SQLiteStore) -> DialogManager:
    return english_manager(catalog, phrases, store)


@pytest.fixture
def queue(
    catalog: JobCatalog, store: SQLiteStore, manager: DialogManager, tmp_path: Path
) -> GenerationQueue:
    generators = build_generators(TemplateRenderer(), None)
    return GenerationQueue(
        store=store,
        jobs=catalog,
        generators=generators,
        artifacts_dir=tmp_path / "artifacts",
        on_delivered=manager.deliver,
        on_failed=manager.generation_failed,
    )
