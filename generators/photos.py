"""Photos into an artifact (issue 15, part U): the answered photo questions' files, copied.

An artifact is a folder that works on its own (opened from the zip, published elsewhere), so
the pictures a user gave are copied into its ``photos/`` folder, listed among its files and
its manifest's ``inputs``, and templates get ``photos``: question id -> ``{"src", "alt",
"width", "height"}`` for the photos answered (an empty dict when none). A photo that is no
longer stored (cleaned up, or an answers file naming one that never was) is left out with a
log line: the page is still made, as if the question had been skipped.
"""

from __future__ import annotations

import logging
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from assistant.jobs.catalog import Job
from assistant.photos import PhotoStore
from assistant.session import GenerationRequest

_LOGGER = logging.getLogger(__name__)
FOLDER = "photos"


@dataclass(frozen=True, slots=True)
class ArtifactPhotos:
    """What the copy made: the template variable, and the files for the manifest."""

    context: dict[str, dict[str, Any]] = field(default_factory=dict)
    files: tuple[str, ...] = ()


def copy_photos(
    store: PhotoStore | None, job: Job, request: GenerationRequest, folder: Path
) -> ArtifactPhotos:
    """Copy each answered photo into ``folder/photos/`` (blocking: run it in a thread)."""
    context: dict[str, dict[str, Any]] = {}
    files: list[str] = []
    for question in job.questions:
        answer = request.answers.get(question.id)
        if question.type != "photo" or not isinstance(answer, dict):
            continue
        found = store.find(answer.get("id")) if store is not None else None
        if found is None:
            _LOGGER.warning("photo for %s of %s is not stored: left out", question.id, job.id)
            continue
        name = f"{FOLDER}/{question.id}{found.path.suffix}"
        (folder / FOLDER).mkdir(exist_ok=True)
        shutil.copyfile(found.path, folder / name)
        files.append(name)
        context[question.id] = {
            "src": name,
            "alt": str(answer.get("alt") or ""),
            "width": found.width,
            "height": found.height,
        }
    return ArtifactPhotos(context, tuple(files))
