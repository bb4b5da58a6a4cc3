"""A missing extra is named in one line with its fix; shipped data is found in a source tree."""

from __future__ import annotations

from pathlib import Path

import pytest

from assistant import resources
from assistant.config import Settings
from assistant.errors import AssistantError
from assistant.extras import MissingExtraError, require_extra


def test_a_missing_extra_is_one_line_naming_the_extra_and_the_command() -> None:
    with pytest.raises(MissingExtraError) as caught:
        require_extra("no_such_module_for_this_test", "speech", "voice")
    error = caught.value
    assert error.message == "voice needs the speech extra: pip install 'facility-assistant[speech]'"
    # Callers that guard with ``except ImportError`` keep working; the CLI prints AssistantErrors.
    assert isinstance(error, ImportError) and isinstance(error, AssistantError)
    assert error.to_wire()["code"] == "extra_missing"


def test_an_installed_module_is_returned() -> None:
    assert require_extra("json", "speech", "voice").dumps([1]) == "[1]"


def test_in_a_source_tree_the_data_is_read_where_staff_edit_it() -> None:
    assert resources.data_root() == resources.SOURCE_ROOT
    assert Settings().jobs_dir == resources.SOURCE_ROOT / "dialogs" / "jobs"
    assert (Settings().voices_dir / "profiles.yaml").is_file()
    assert (Settings().models_dir / "manifest.yaml").is_file()


def test_an_installed_copy_is_preferred(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    (tmp_path / "dialogs").mkdir()
    monkeypatch.setattr(resources, "PACKAGED_DATA", tmp_path)
    assert resources.data_root() == tmp_path
