"""``assistant check``: what is installed, what is missing, and the one step that fixes each.

Every probe is quick (nothing is loaded that takes seconds: no model, no decoder, no browser)
and wrapped, so one broken part becomes one finding instead of a crash: the operator runs this
precisely when something is wrong. Only the core's own needs (the database folder and the jobs)
make the command fail; a missing voice or model leaves the service running on what it has.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import sqlite3
import tempfile
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

from assistant.check.findings import Finding, shown
from assistant.check.links import check_links
from assistant.check.speech import (
    check_audio_devices,
    check_engines,
    check_models,
    check_speech_to_text,
    check_text_to_speech,
    check_voice_activity,
)
from assistant.config import Settings, shown_database_url
from assistant.errors import AssistantError

__all__ = ["Finding", "check_audio_devices", "exit_code", "format_findings", "run_checks"]

CRITICAL_AREAS = frozenset({"database", "jobs"})  # the service cannot run without these
CHROMIUM_ENV = "ASSISTANT_CHROMIUM"


def _chromium() -> str | None:
    """The browser that checks generated pages: ``ASSISTANT_CHROMIUM`` or the Debian one."""
    configured = os.environ.get(CHROMIUM_ENV)
    if configured:
        return configured if Path(configured).is_file() else None
    for candidate in ("/usr/bin/chromium", "/usr/bin/chromium-browser"):
        if Path(candidate).is_file():
            return candidate
    return shutil.which("chromium")


def check_tools(settings: Settings) -> list[Finding]:
    """Chromium (loads generated pages) and node (checks generated JavaScript)."""
    findings = []
    chromium = _chromium()
    if chromium:
        findings.append(Finding("tools", "chromium", True, chromium))
    elif os.environ.get(CHROMIUM_ENV):
        findings.append(
            Finding(
                "tools",
                "chromium",
                False,
                f"{CHROMIUM_ENV}={os.environ[CHROMIUM_ENV]} does not exist",
                f"point {CHROMIUM_ENV} at the browser, or unset it",
            )
        )
    else:
        findings.append(
            Finding(
                "tools",
                "chromium",
                False,
                "not found: generated pages are checked without a browser",
                "apt-get install chromium",
            )
        )
    node = shutil.which("node")
    if node:
        findings.append(Finding("tools", "node", True, node))
    else:
        findings.append(
            Finding(
                "tools",
                "node",
                False,
                "not found: generated JavaScript is not syntax-checked",
                "apt-get install nodejs",
            )
        )
    return findings


def _writable(folder: Path) -> str | None:
    """Why nothing can be written in ``folder`` (None when a file can be made there)."""
    try:
        with tempfile.TemporaryFile(dir=folder):
            return None
    except OSError as err:
        return err.strerror or str(err)


def check_postgres(settings: Settings) -> list[Finding]:
    """``database_url``'s PostgreSQL answers (issue 17): the store of every instance."""
    try:
        import psycopg
    except ImportError:
        return [
            Finding(
                "database", "postgresql", False, "psycopg is not installed",
                "pip install -e '.[postgres]' (scripts/run installs it)",
            )
        ]  # fmt: skip
    where = shown_database_url(settings.database_url)
    try:
        with psycopg.connect(settings.database_url, connect_timeout=3) as connection:
            version = connection.info.server_version
    except psycopg.Error as err:
        reason = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        return [
            Finding(
                "database", "postgresql", False, f"{where} does not answer: {reason}",
                "start PostgreSQL, or correct database_url (or leave it empty for SQLite)",
            )
        ]  # fmt: skip
    major, minor = divmod(version, 10000)
    return [Finding("database", "postgresql", True, f"{where} (PostgreSQL {major}.{minor})")]


def check_database(settings: Settings) -> list[Finding]:
    """The data folder can be written and the database file, when present, is SQLite; with
    ``database_url``, the PostgreSQL server answers as well."""
    if settings.database_url:
        return check_postgres(settings) + _check_data_folder(settings, sqlite=False)
    return _check_data_folder(settings)


def _check_data_folder(settings: Settings, *, sqlite: bool = True) -> list[Finding]:
    data_dir = Path(settings.data_dir)
    database = settings.database_path
    fix = f"make {data_dir} writable for this user, or set data_dir in assistant.toml"
    if not data_dir.exists():
        parent = next((p for p in data_dir.absolute().parents if p.exists()), None)
        problem = "no parent folder exists" if parent is None else _writable(parent)
        if problem:
            return [
                Finding("database", "folder", False, f"{data_dir} cannot be made: {problem}", fix)
            ]
        return [Finding("database", "folder", True, f"{data_dir} (made on first start)")]
    if not data_dir.is_dir():
        return [Finding("database", "folder", False, f"{data_dir} is a file, not a folder", fix)]
    problem = _writable(data_dir)
    if problem:
        return [Finding("database", "folder", False, f"{data_dir} is not writable: {problem}", fix)]
    if not sqlite:  # the database is PostgreSQL's: the folder keeps artifacts and the rest
        return [Finding("database", "folder", True, f"{data_dir} (writable)")]
    if not database.exists():
        return [Finding("database", "folder", True, f"{data_dir} (writable; no database yet)")]
    try:
        connection = sqlite3.connect(f"{database.absolute().as_uri()}?mode=ro", uri=True, timeout=1)
        try:
            connection.execute("PRAGMA schema_version").fetchone()
        finally:
            connection.close()
    except sqlite3.Error as err:
        return [
            Finding(
                "database",
                "file",
                False,
                f"{database}: {err}",
                f"move {database} aside (the service makes a new one) or restore a backup",
            )
        ]
    if not os.access(database, os.W_OK):
        return [Finding("database", "file", False, f"{database} is read-only", fix)]
    return [Finding("database", "folder", True, f"{data_dir} (writable; {database.name} readable)")]


def check_jobs(settings: Settings) -> list[Finding]:
    """The jobs users can choose; every broken file is named so staff can fix it."""
    from assistant.jobs.loader import load_jobs

    catalog = load_jobs(settings.jobs_dir)
    findings = []
    if catalog.jobs:
        findings.append(
            Finding("jobs", "loaded", True, f"{len(catalog.jobs)} in {shown(settings.jobs_dir)}")
        )
    elif not catalog.errors:
        findings.append(
            Finding(
                "jobs",
                "loaded",
                False,
                f"no job files in {shown(settings.jobs_dir)}",
                "add a job YAML (see dialogs/jobs) or set dialogs_dir",
            )
        )
    for error in catalog.errors:
        findings.append(
            Finding("jobs", "broken", False, error.message, "fix the file; assistant jobs validate")
        )
    return findings


def check_language_model(settings: Settings) -> list[Finding]:
    """Whether Ollama answers at the configured address and has the configured model."""
    if not settings.llm_enabled or settings.llm_backend == "none":
        return [Finding("llm", "ollama", True, "turned off (llm_enabled = false): templates only")]
    if settings.llm_backend in ("embedded", "openai", "auto"):
        return check_other_backend(settings)  # issue 13, part C
    try:
        from assistant.llm.ollama import OllamaModel
    except ImportError:
        return [
            Finding(
                "llm", "ollama", False, "the ollama client is not installed", "scripts/test or "
                "pip install -e '.[llm]'"
            )
        ]  # fmt: skip
    model = OllamaModel(settings.ollama_host, settings.ollama_model, timeout=5.0)
    status = asyncio.run(model.status())
    if not status.reachable:
        return [
            Finding(
                "llm", "ollama", False,
                f"no answer at {settings.ollama_host} ({status.detail}); pages and programs are "
                "made from templates alone",
                "install Ollama (https://ollama.com) and start it, or set ollama_host",
            )
        ]  # fmt: skip
    shown = ", ".join(status.models) or "none"
    if not status.has_model:
        return [
            Finding(
                "llm", settings.ollama_model, False,
                f"Ollama answers at {settings.ollama_host} but has not this model (it has: {shown})",
                f"ollama pull {settings.ollama_model}",
            )
        ]  # fmt: skip
    return [
        Finding(
            "llm",
            settings.ollama_model,
            True,
            f"Ollama at {settings.ollama_host} (models: {shown})",
        )
    ]


def check_other_backend(settings: Settings) -> list[Finding]:
    """The embedded model (its runtime; the file is listed with the models) or an
    OpenAI-compatible server (whether it answers and has the model)."""
    if settings.llm_backend == "openai":
        from assistant.llm.openai_compatible import OpenAICompatibleModel

        server = OpenAICompatibleModel(
            settings.openai_base_url, settings.openai_model, api_key=settings.openai_api_key,
            timeout=5.0,
        )  # fmt: skip
        status = asyncio.run(server.status())
        where = settings.openai_base_url
        if not status.reachable:
            return [Finding("llm", "openai", False, f"no answer at {where} ({status.detail}); "
                            "pages and programs are made from templates alone",
                            "start the server, or set openai_base_url")]  # fmt: skip
        return [Finding("llm", settings.openai_model, status.has_model,
                        f"OpenAI-compatible server at {where} (models: "
                        f"{', '.join(status.models) or 'none'})")]  # fmt: skip
    try:
        import llama_cpp  # noqa: F401
    except ImportError:
        return [Finding("llm", "embedded", False, "llama-cpp-python is not installed",
                        "scripts/setup.sh (builds llama-cpp-python)")]  # fmt: skip
    return [Finding("llm", "embedded", True, "Qwen in-process through llama.cpp "
                    "(the model file is listed with the models)")]  # fmt: skip


PROBES: tuple[tuple[str, Callable[[Settings], list[Finding]]], ...] = (
    ("stt", check_speech_to_text),
    ("tts", check_text_to_speech),
    ("engine", check_engines),
    ("vad", check_voice_activity),
    ("audio", check_audio_devices),
    ("models", check_models),
    ("tools", check_tools),
    ("links", check_links),
    ("llm", check_language_model),
    ("database", check_database),
    ("jobs", check_jobs),
)


def run_checks(
    settings: Settings, probes: Sequence[tuple[str, Callable[[Settings], list[Finding]]]] = PROBES
) -> list[Finding]:
    """Every probe's findings; a probe that fails becomes one finding saying why."""
    findings: list[Finding] = []
    for area, probe in probes:
        try:
            findings.extend(probe(settings))
        except AssistantError as err:
            findings.append(Finding(area, "error", False, err.message, _fix_of(err.message)))
        except Exception as err:  # a probe must never crash the report
            findings.append(
                Finding(area, "error", False, f"the check failed: {type(err).__name__}: {err}")
            )
    return findings


def _fix_of(message: str) -> str | None:
    """Configuration errors start with the file they are about: correcting it is the fix."""
    first = message.split(": ", 1)[0]
    return "correct that file" if first.endswith((".yaml", ".yml", ".toml")) else None


def format_findings(findings: Iterable[Finding]) -> str:
    """Aligned lines: status, area, name, then what is there or what is missing and the fix."""
    findings = list(findings)
    area_width = max((len(f.area) for f in findings), default=0)
    name_width = max((len(f.name) for f in findings), default=0)
    lines = []
    for finding in findings:
        status = "ok" if finding.ok else "MISSING"
        text = finding.detail
        if finding.fix and not finding.ok:
            text = f"{text} — {finding.fix}"
        lines.append(
            f"{status:<7} {finding.area:<{area_width}} {finding.name:<{name_width}} {text}".rstrip()
        )
    return "\n".join(lines)


def exit_code(findings: Iterable[Finding]) -> int:
    """1 when the database or the jobs are broken (the service cannot work); else 0."""
    return int(any(not f.ok and f.area in CRITICAL_AREAS for f in findings))
