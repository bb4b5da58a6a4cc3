"""What can go wrong installing a speech model: one error per failure, each with a code."""

from __future__ import annotations

from assistant.errors import AssistantError


class ModelFetchError(AssistantError):
    """A model could not be installed; the message names the model and the reason."""

    code = "model_fetch_failed"


class DownloadError(ModelFetchError):
    """The source could not be reached or the transfer broke: normal on an offline kiosk."""

    code = "model_no_network"


class ChecksumError(ModelFetchError):
    """The download's size or sha256 differs from the manifest: it is not what staff checked."""

    code = "model_checksum"


class ArchiveError(ModelFetchError):
    """The archive is not a zip, tries to write outside its folder, or holds no model."""

    code = "model_archive_unsafe"


class MissingPartError(ModelFetchError):
    """A registry package the manifest pins is not installed, not at its version, or lacks a
    part: the file cannot be assembled until pip installs it."""

    code = "model_part_missing"
