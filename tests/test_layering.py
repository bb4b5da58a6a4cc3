"""Dependencies point inward: the core never imports a channel or a generator."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
COMPOSITION_ROOTS = {"compose.py", "__main__.py", "cli"}
OUTER = ("channels", "generators")


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def _wrong_arrows(package: str, forbidden: tuple[str, ...], allowed: set[str]) -> list[str]:
    wrong = []
    for path in sorted((ROOT / package).rglob("*.py")):
        relative = path.relative_to(ROOT / package)
        if relative.parts[0] in allowed:
            continue
        for name in _imports(path):
            if name.split(".")[0] in forbidden:
                wrong.append(f"{path.relative_to(ROOT)} imports {name}")
    return wrong


def test_core_imports_no_channel_or_generator() -> None:
    assert _wrong_arrows("assistant", OUTER, COMPOSITION_ROOTS) == []


def test_channels_and_generators_do_not_import_each_other() -> None:
    assert _wrong_arrows("channels", ("generators",), set()) == []
    assert _wrong_arrows("generators", ("channels",), set()) == []


def test_the_check_itself_sees_a_wrong_arrow(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text("from channels.console import ConsoleChannel\nimport generators.render\n")
    assert _imports(bad) == {"channels.console", "generators.render"}


def _store_importers(package: str) -> list[str]:
    """Modules of ``package`` that import the concrete store (``assistant.store.*``)."""
    wrong = []
    for path in sorted((ROOT / package).rglob("*.py")):
        relative = path.relative_to(ROOT)
        if relative.parts[:2] == ("assistant", "store") or (
            relative.parts[0] == "assistant" and relative.parts[1] in COMPOSITION_ROOTS
        ):
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
