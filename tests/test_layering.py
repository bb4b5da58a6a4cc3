"""Dependencies point inward: every arrow of DESIGN.md §3, walked with ``ast``.

The vocabulary (events, errors, session, config, ports) is the centre; jobs and understanding
sit on it; the dialog, the store, generation, knowledge, the language model and speech each
use the centre but not one another; channels and generators are outside; only the
composition root (compose.py, compose_models.py, compose_jobs.py, compose_warm_up.py, cli/,
__main__.py) sees everything.
``testing/`` is for tests and scripts, never the product.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
COMPOSITION_ROOT = (
    "assistant.compose",
    "assistant.compose_models",  # the language model and job choice, wired
    "assistant.compose_jobs",  # the jobs loaded with their templates checked
    "assistant.compose_warm_up",  # the slow parts opened in the background at start
    "assistant.compose_store",  # issue 17: which store database_url names
    "assistant.cli",
    "assistant.__main__",
)
VOCABULARY = {
    "events",
    "errors",
    "session",
    "config",
    "ports",
    "upkeep_ports",  # attempts per address and retention (split from ports)
    "preferences",
    "resources",
    "extras",
    "ledger",
    "safe_text",
    "private_files",  # part E of issue 12: the data folder's modes
    "review",  # issue 16, part B: artifact review, sites and sendings (records and port)
    "telemetry",  # issue 17: the port every part reports its measurements through
    "key_locks",  # one lock per key: this process's, or (issue 17) every instance's
}

# For each part of the core: the parts of ``assistant`` it may import (itself always).
CORE_ALLOWED: dict[str, set[str]] = {
    "events": set(),
    "errors": set(),
    "net": set(),
    "session": {"events"},
    "config": {"errors", "net", "resources", "config_values"},
    "config_values": {"errors"},  # the converters of each setting
    "preferences": set(),
    "resources": set(),
    "extras": {"errors"},
    "ledger": set(),
    "ports": {"events", "errors", "session", "jobs", "upkeep_ports"},
    "jobs": {"errors"},
    "understanding": VOCABULARY | {"jobs"},
    "llm": VOCABULARY,
    "knowledge": VOCABULARY | {"jobs", "llm", "startup"},  # startup: background priority
    "speech": VOCABULARY | {"jobs", "understanding"},
    "store": VOCABULARY,
    "generation": VOCABULARY | {"jobs", "understanding"},  # romaji for a zip's name
    "dialog": VOCABULARY | {"jobs", "understanding"},
    "limits": {"ports", "upkeep_ports"},
    "retention": VOCABULARY,
    "safe_text": set(),
    "private_files": set(),
    "server": VOCABULARY | {"jobs", "http_guard"},
    "http_guard": set(),  # issue 12, part C: deadlines for slow HTTP clients
    "check": VOCABULARY | {"jobs", "llm", "speech", "knowledge", "net"},
    "startup": set(),  # issue 13, part B: the background warm-up at start
    "photos": {"errors", "private_files"},  # issue 15, part U: pictures made safe to show
    # Issue 16: accounts, roles, audit, the live list; part B: the review vocabulary,
    # publishing (the zip's files and names) and mail (e-mail addresses are understood as
    # the dialog understands a user's, in understanding/addresses).
    "review": {"errors", "session"},
    "upkeep_ports": set(),  # plain records and protocols, importing nothing of ours
    "key_locks": set(),
    "staff": VOCABULARY | {"jobs", "generation", "understanding"},
    # Issue 17: the measurements' port, and its Prometheus registry behind it; only the
    # server (which shows it at /metrics) sees the registry, everyone else the port.
    "telemetry": {"errors"},
    "metrics": {"telemetry"},
    # Issue 17, several instances: the client's address behind a trusted proxy.
    "client_address": set(),
    # Issue 17, several instances with Redis: the shared lock wraps the process's own
    # (key_locks); the dialog sees only the ports in cluster.ports.
    "cluster": {"key_locks", "extras"},
}
CORE_ALLOWED["dialog"] = CORE_ALLOWED["dialog"] | {"cluster"}
CORE_ALLOWED["server"] = CORE_ALLOWED["server"] | {"metrics", "client_address"}
# Issue 16, part A: the store keeps staff accounts, so it speaks their type (``Account``).
CORE_ALLOWED["store"] = CORE_ALLOWED["store"] | {"staff"}
# What the outer packages may not import from the core: its concrete store and its root.
OUTER_FORBIDDEN = ("assistant.store", *COMPOSITION_ROOT)


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _imports(path: Path) -> set[str]:
    """Absolute module names imported by ``path``; relative imports are resolved."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    package = _module_name(path).split(".")
    if path.name != "__init__.py":
        package = package[:-1]
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - node.level + 1]
                names.add(".".join([*base, node.module] if node.module else base))
            elif node.module:
                names.add(node.module)
    return names


def _files(*packages: str) -> list[Path]:
    return sorted(path for package in packages for path in (ROOT / package).rglob("*.py"))


def _part(module: str) -> str:
    return module.split(".")[1] if module.count(".") else module


def _is_under(module: str, prefixes: tuple[str, ...]) -> bool:
    return any(module == p or module.startswith(p + ".") for p in prefixes)


def core_arrows() -> list[str]:
    wrong = []
    for path in _files("assistant"):
        module = _module_name(path)
        if module == "assistant" or _is_under(module, COMPOSITION_ROOT):
            continue
        part = _part(module)
        allowed = CORE_ALLOWED.get(part)
        assert allowed is not None, (
            f"{module}: a new part of the core needs its row in CORE_ALLOWED"
        )
        for name in _imports(path):
            top = name.split(".")[0]
            if top in ("channels", "generators", "testing", "tests"):
                wrong.append(f"{module} imports {name}")
            elif top == "assistant" and name != "assistant":
                target = _part(name)
                if target != part and target not in allowed:
                    wrong.append(f"{module} imports {name}")
    return wrong


def outer_arrows() -> list[str]:
    wrong = []
    for package, other in (("channels", "generators"), ("generators", "channels")):
        for path in _files(package):
            for name in _imports(path):
                if name.split(".")[0] in (other, "testing", "tests") or _is_under(
                    name, OUTER_FORBIDDEN
                ):
                    wrong.append(f"{_module_name(path)} imports {name}")
    return wrong


def arrows_from_testing() -> list[str]:
    return [
        f"{_module_name(path)} imports {name}"
        for path in _files("testing")
        for name in _imports(path)
        if name.split(".")[0] == "tests"
    ]


def test_the_core_imports_only_what_is_inside_it() -> None:
    assert core_arrows() == []


def test_channels_and_generators_use_ports_not_the_store_or_each_other() -> None:
    assert outer_arrows() == []


def test_testing_helpers_do_not_reach_into_the_tests() -> None:
    assert arrows_from_testing() == []


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("from channels.console import ConsoleChannel\n", {"channels.console"}),
        ("import generators.render\n", {"generators.render"}),
        ("from .flow import DialogFlow\n", {"assistant.dialog.flow"}),
        ("from .. import events\n", {"assistant"}),
    ],
)
def test_the_check_itself_sees_every_kind_of_import(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, source: str, expected: set[str]
) -> None:
    monkeypatch.setattr(f"{__name__}.ROOT", tmp_path)
    bad = tmp_path / "assistant" / "dialog" / "bad.py"
    bad.parent.mkdir(parents=True)
    bad.write_text(source)
    assert _imports(bad) == expected


def _store_importers(package: str) -> list[str]:
    """Modules of ``package`` that import the concrete store (``assistant.store.*``)."""
    wrong = []
    for path in sorted((ROOT / package).rglob("*.py")):
        relative = path.relative_to(ROOT)
        module = _module_name(path)
        if _is_under(module, ("assistant.store", *COMPOSITION_ROOT)):
            continue
        for name in _imports(path) | _from_imports(path):
            if name == "assistant.store" or name.startswith("assistant.store."):
                wrong.append(f"{relative} imports {name}")
    return wrong


def _from_imports(path: Path) -> set[str]:
    """``from assistant.store import sqlite`` names the module ``assistant.store.sqlite``."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    return {
        f"{node.module}.{alias.name}"
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0
        for alias in node.names
    }


def test_only_the_store_and_the_composition_root_see_the_concrete_store() -> None:
    """Everything else goes through the ports, so a PostgreSQL store can take its place."""
    for package in ("assistant", "channels", "generators", "testing"):
        assert _store_importers(package) == [], package


def test_the_store_check_sees_a_module_reaching_for_sqlite(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text("from assistant.store import sqlite\n")
    assert "assistant.store.sqlite" in _from_imports(bad)
