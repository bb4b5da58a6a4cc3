"""`pip install .` gives a working `assistant serve`, and the base install needs no numpy.

The wheel is built from a copy of the source tree (a stale ``build/`` cannot hide a missing
file) and installed into a fresh virtual environment without extras. The base dependencies
come from this test run's own environment, offered through a folder holding only those
distributions (so the test needs no network, and numpy, which the speech extra brings, stays
out of reach); ``pip check`` proves they satisfy the wheel's requirements.
"""

from __future__ import annotations

import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
import venv
from importlib import metadata
from pathlib import Path

import pytest
from packaging.requirements import Requirement

from assistant.config import PROJECT_ROOT

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]

DISTRIBUTION = "facility-assistant"
COPY_IGNORE = shutil.ignore_patterns(
    ".git", ".venv", "node_modules", "data", "build", "dist", "*.egg-info", "__pycache__",
    ".pytest_cache", ".ruff_cache", ".mypy_cache", "tests",
)  # fmt: skip


def _base_distributions() -> set[str]:
    """The distributions a base install needs: the requirements without an extra, recursively."""
    wanted: set[str] = set()
    pending = [
        Requirement(text)
        for text in metadata.requires(DISTRIBUTION) or []
        if Requirement(text).marker is None or Requirement(text).marker.evaluate({"extra": ""})
    ]
    while pending:
        requirement = pending.pop()
        name = requirement.name.lower().replace("_", "-")
        if name in wanted:
            continue
        wanted.add(name)
        for text in metadata.requires(requirement.name) or []:
            child = Requirement(text)
            if child.marker is None or child.marker.evaluate({"extra": ""}):
                pending.append(child)
    return wanted


def _offer_base_dependencies(folder: Path) -> None:
    """Symlink the top-level entries of every base distribution into ``folder``."""
    folder.mkdir()
    for name in _base_distributions():
        distribution = metadata.distribution(name)
        for file in distribution.files or []:
            top = file.parts[0]
            if top in ("..", "__pycache__") or (folder / top).exists():
                continue
            source = Path(str(distribution.locate_file(top)))
            if source.exists():
                (folder / top).symlink_to(source)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _get(url: str) -> tuple[int, str]:
    with urllib.request.urlopen(url, timeout=30) as response:
        return response.status, response.read().decode("utf-8", "replace")


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh venv with the wheel installed and nothing from the extras; its bin folder."""
    root = tmp_path_factory.mktemp("packaging")
    source = root / "source"
    shutil.copytree(PROJECT_ROOT, source, ignore=COPY_IGNORE, symlinks=True)
    wheels = root / "wheels"
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
         "--disable-pip-version-check", "-q", "-w", str(wheels), str(source)],
        check=True, timeout=300,
    )  # fmt: skip
    environment = root / "venv"
    venv.EnvBuilder(with_pip=False).create(environment)
    python = environment / "bin" / "python"
    site = Path(
        subprocess.run(
            [str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
            check=True, capture_output=True, text=True,
        ).stdout.strip()
    )  # fmt: skip
    offered = root / "base-dependencies"
    _offer_base_dependencies(offered)
    (site / "base-dependencies.pth").write_text(f"{offered}\n")
    # This run's pip installs into the new venv: the venv has no pip of its own to save time.
    subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps",
         "--no-index", "--disable-pip-version-check", "-q", str(next(wheels.glob("*.whl")))],
        check=True, timeout=300,
    )  # fmt: skip
    return environment / "bin"


def test_the_wheel_carries_the_data_and_the_licence(installed: Path) -> None:
    python = installed / "python"
    listing = subprocess.run(
        [str(python), "-c",
         "import assistant.resources as r, channels.web.channel as w, generators.template as t;"
         "print(r.DATA_ROOT); print(w.STATIC_DIR); print(t.__file__)"],
        check=True, capture_output=True, text=True, cwd=installed,
    ).stdout.split()  # fmt: skip
    data_root, static_dir = Path(listing[0]), Path(listing[1])
    assert data_root.name == "_data" and PROJECT_ROOT not in data_root.parents
    for shipped in (
        "dialogs/jobs/cafe_page.yaml", "dialogs/locales/ja.yaml", "dialogs/locales/en.yaml",
        "voices/profiles.yaml", "models/manifest.yaml",
    ):  # fmt: skip
        assert (data_root / shipped).is_file(), shipped
    assert (static_dir / "chat.js").is_file()
    assert (static_dir.parent / "templates" / "chat.html").is_file()
    assert (Path(listing[2]).parent / "templates" / "page" / "cafe.html.j2").is_file()
    licences = list((installed.parent / "lib").glob("python*/site-packages/*.dist-info/licenses"))
    assert any((folder / "LICENSE").is_file() for folder in licences)
    check = subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(python), "check"],
        capture_output=True, text=True,
    )  # fmt: skip
    assert check.returncode == 0, check.stdout + check.stderr


def test_the_base_install_has_no_numpy_and_imports_the_command_line(installed: Path) -> None:
    python = str(installed / "python")
    numpy = subprocess.run([python, "-c", "import numpy"], capture_output=True, text=True)
    assert numpy.returncode != 0 and "No module named 'numpy'" in numpy.stderr
    result = subprocess.run(
        [python, "-c", "import assistant.cli.main, sys; print('numpy' in sys.modules)"],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    assert result.stdout.strip() == "False"


def test_assistant_serve_from_the_wheel_serves_the_chat_page(
    installed: Path, tmp_path: Path
) -> None:
    port = _free_port()
    log = tmp_path / "serve.log"
    with log.open("w") as output:
        server = subprocess.Popen(
            [str(installed / "assistant"), "serve", "--host", "127.0.0.1", "--port", str(port)],
            cwd=tmp_path, stdout=output, stderr=subprocess.STDOUT,
            env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "ASSISTANT_LLM_ENABLED": "false"},
        )  # fmt: skip
    try:
        deadline = time.monotonic() + 120
        while "listening on" not in log.read_text():
            assert server.poll() is None, log.read_text()
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.1)
        base = f"http://127.0.0.1:{port}"
        status, body = _get(f"{base}/healthz")
        assert status == 200, body
        status, page = _get(f"{base}/")
        assert status == 200
        scripts = re.findall(r'(?:src|href)="(/static/web/[^"]+)"', page)
        assert any("chat.js" in path for path in scripts), page
        assert any("chat.css" in path for path in scripts), page
        for path in scripts:
            status, _ = _get(base + path)
            assert status == 200, path
        # The missing extra is named in one line, with the command that installs it.
        assert "voice needs the speech extra: pip install 'facility-assistant[speech]'" in (
            log.read_text()
        )
    finally:
        server.terminate()
        server.wait(timeout=60)
