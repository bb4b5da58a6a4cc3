"""Pictures already on the kiosk (issue 15, part U), offered for photo questions by voice.

A kiosk has no phone camera and its user may not handle files, so staff put pictures in a
folder (``kiosk_pictures_dir``); at a photo question the kiosk reads out their numbers and
names ("1, logo. 2, shop front."), and the user says a number or a name. The chosen file goes
through ``assistant/photos.py`` like any upload (its size checked before it is read) and
reaches the dialog as a photo turn; any other words go to the dialog as they are (skip, help).
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import replace
from pathlib import Path

from assistant.events import Reply, ReplyKind, Turn
from assistant.jobs.phrases import Phrases
from assistant.photos import PhotoError, PhotoStore
from assistant.understanding.interpret import normalize, parse_ordinal

_LOGGER = logging.getLogger(__name__)
SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".webp"})
MAX_OFFERED = 20  # more is too many to listen to


class KioskPictures:
    """The folder's pictures, offered at photo questions and picked by number or name."""

    def __init__(self, folder: Path | str, photos: PhotoStore, phrases: Phrases) -> None:
        self.folder = Path(folder).expanduser()
        self.photos = photos
        self.phrases = phrases
        self.wanted = False  # the question waiting is a photo question

    def pictures(self) -> list[Path]:
        """The pictures offered, in name order (read each time: staff may add some)."""
        try:
            found = [p for p in self.folder.iterdir() if p.suffix.lower() in SUFFIXES]
        except OSError:
            return []
        return sorted((p for p in found if p.is_file()), key=lambda p: p.name.lower())[:MAX_OFFERED]

    def offer(self, replies: list[Reply]) -> list[Reply]:
        """At a photo question, the replies and then the list of pictures, read out."""
        last = replies[-1] if replies else None
        self.wanted = bool(last and last.expects is not None and last.expects.type == "photo")
        if not self.wanted or last is None:
            return replies
        language = last.language
        separator = "、" if language == "ja" else ", "
        names = [
            f"{n}{separator}{p.stem.replace('_', ' ')}" for n, p in enumerate(self.pictures(), 1)
        ]
        if names:
            listed = ("。" if language == "ja" else ". ").join(names)
            text = self.phrases.say(language, "kiosk.pictures", list=listed)
        else:
            text = self.phrases.say(language, "kiosk.no_pictures")
        return [*replies, Reply(ReplyKind.INFO, text, text, language, last.state)]

    def pick(self, text: str) -> Path | None:
        """The picture a number ("2", "number two", 「二番」) or a file name names."""
        pictures = self.pictures()
        number = parse_ordinal(text)
        if number is not None and 1 <= number <= len(pictures):
            return pictures[number - 1]
        heard = normalize(text)
        return next((p for p in pictures if normalize(p.stem.replace("_", " ")) == heard), None)

    async def turn_for(self, turn: Turn) -> Turn:
        """The turn as the dialog should see it: a picture named at a photo question becomes
        a photo turn (or the reason it was refused); anything else is left as it is."""
        if not self.wanted or not turn.text:
            return turn
        path = self.pick(turn.text)
        if path is None:
            return turn
        self.wanted = False
        try:
            photo = await asyncio.to_thread(_accept_file, self.photos, path)
        except PhotoError as err:
            _LOGGER.info("kiosk: picture %s refused: %s", path.name, err.code)
            return replace(turn, text=None, photo_problem=err.code)
        except OSError as err:
            _LOGGER.warning("kiosk: picture %s cannot be read: %s", path, err)
            return replace(turn, text=None, photo_problem="damaged")
        return replace(turn, text=None, confidence=None, photo=photo)


def _accept_file(photos: PhotoStore, path: Path) -> str:
    """The file's size checked before it is read, then accepted; its photo id."""
    if path.stat().st_size > photos.max_bytes:
        raise PhotoError(f"{path.name} is too big", code="too_big")
    return photos.accept(path.read_bytes()).id
