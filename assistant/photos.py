"""Photos and a logo (issue 15): a picture from any channel, made safe to put on a page.

Whatever arrives (a phone photo with GPS in its EXIF, a PNG named ``.jpg``, a text file, a
decompression bomb, a truncated upload) is judged by its bytes, never by its name or declared
type: the size is checked before anything is decoded, the pixel count from the header before
the pixels are, and what is kept is a new image built from the pixels alone, so no metadata
(EXIF, GPS, XMP, comments, ICC) can survive. Pictures are shrunk to ``max_edge`` and stored as
JPEG, or PNG when they are transparent (a logo), under an unguessable id, written whole (temp
file, fsync, rename) so a crash never leaves half a photo behind an answer.

An animated GIF or WebP is taken as its first frame: a page shows a still picture.
"""

from __future__ import annotations

import io
import logging
import os
import re
import secrets
import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageOps, UnidentifiedImageError

from assistant.errors import AssistantError
from assistant.private_files import FILE_MODE, FOLDER_MODE

_LOGGER = logging.getLogger(__name__)

# Formats decoded; HEIC only if a Pillow plugin for it is installed (pillow-heif is not).
ACCEPTED_FORMATS = frozenset({"JPEG", "MPO", "PNG", "WEBP", "GIF", "HEIF"})
# Pixels a header may announce before anything is decoded: a 10 MB file that unpacks to
# gigabytes (a decompression bomb) is refused here, far below Pillow's own limit.
MAX_PIXELS = 50_000_000
JPEG_QUALITY = 85
_ID = re.compile(r"^[A-Za-z0-9_-]{20,40}$")
SUFFIXES = {"jpeg": ".jpg", "png": ".png"}


class PhotoError(AssistantError):
    """A picture was refused; ``code`` is one of too_big, not_a_picture, too_many_pixels,
    damaged, and the dialog words it for the user (``problem.photo_<code>``)."""

    code = "photo_refused"


@dataclass(frozen=True, slots=True)
class StoredPhoto:
    """A picture accepted and stored: what a template needs to show it."""

    id: str
    path: Path
    width: int
    height: int

    @property
    def file_name(self) -> str:
        """The file's name, the same inside an artifact's ``photos/`` folder."""
        return self.path.name


def is_photo_id(value: object) -> bool:
    """Whether ``value`` could be an id this store gave (never a path)."""
    return isinstance(value, str) and bool(_ID.match(value))


class PhotoStore:
    """Accepts pictures into one folder under the data folder, and finds them by id."""

    def __init__(self, folder: Path, *, max_bytes: int = 10_000_000, max_edge: int = 1600) -> None:
        self.folder = folder
        self.max_bytes = max_bytes
        self.max_edge = max_edge

    def accept(self, data: bytes) -> StoredPhoto:
        """Check, shrink, re-encode without metadata and store ``data``; raises ``PhotoError``.

        Blocking (decoding takes a while): channels call it through ``asyncio.to_thread``.
        """
        if len(data) > self.max_bytes:
            raise PhotoError(f"{len(data)} bytes is over {self.max_bytes}", code="too_big")
        if not data:
            raise PhotoError("no bytes", code="not_a_picture")
        image = _decode(data, self.max_edge)
        encoded, kind = _encode(image)
        photo_id = secrets.token_urlsafe(18)
        path = self.folder / f"{photo_id}{SUFFIXES[kind]}"
        _write_whole(path, encoded)
        _LOGGER.info("photo %s stored: %dx%d %s", photo_id, image.width, image.height, kind)
        return StoredPhoto(photo_id, path, image.width, image.height)

    def sweep(self, keep: frozenset[str], before: float, *, dry_run: bool) -> int:
        """Pictures no session or queued task uses any more, and what a crash left half
        written, once older than ``before``: sent for a page, they are not kept for ever.

        A picture inside a delivered artifact is its own copy (``photos/`` in the artifact's
        folder) and goes with the artifact's retention."""
        if not self.folder.is_dir():
            return 0
        removed = 0
        for path in self.folder.iterdir():
            if path.name.startswith(".incoming-"):
                stale = True  # a crash between write and rename
            else:
                stale = path.suffix in SUFFIXES.values() and is_photo_id(path.stem)
                stale = stale and path.stem not in keep
            try:
                if not stale or path.stat().st_mtime >= before:
                    continue
                if not dry_run:
                    path.unlink()
            except FileNotFoundError:
                continue
            removed += 1
        if removed:
            _LOGGER.info("%s %d unused photos", "would remove" if dry_run else "removed", removed)
        return removed

    def find(self, photo_id: object) -> StoredPhoto | None:
        """The stored photo with this id; None for an unknown or malformed id."""
        if not is_photo_id(photo_id):
            return None
        for suffix in SUFFIXES.values():
            path = self.folder / f"{photo_id}{suffix}"
            if path.is_file():
                try:
                    with Image.open(path) as image:
                        width, height = image.size
                except (OSError, UnidentifiedImageError):
                    _LOGGER.warning("stored photo %s cannot be read", path)
                    return None
                return StoredPhoto(str(photo_id), path, width, height)
        return None


def _decode(data: bytes, max_edge: int) -> Image.Image:
    """The picture's pixels, upright and at most ``max_edge`` on a side, with no metadata."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            image = Image.open(io.BytesIO(data))
        except (UnidentifiedImageError, Image.DecompressionBombError) as err:
            code = "too_many_pixels" if isinstance(err, Image.DecompressionBombError) else None
            raise PhotoError(str(err), code=code or "not_a_picture") from err
        except (OSError, SyntaxError, ValueError) as err:
            raise PhotoError(str(err), code="damaged") from err
        except Image.DecompressionBombWarning as err:
            raise PhotoError(str(err), code="too_many_pixels") from err
        if image.format not in ACCEPTED_FORMATS:
            raise PhotoError(f"{image.format} is not accepted", code="not_a_picture")
        width, height = image.size
        if width * height > MAX_PIXELS or width < 1 or height < 1:
            raise PhotoError(f"{width}x{height} pixels", code="too_many_pixels")
        try:
            if image.format in ("JPEG", "MPO"):
                # Decoded at 1/2, 1/4 or 1/8 when that still covers the final size: a 12 MP
                # phone photo decodes in a quarter of the time. (A square box would not let
                # a 4:3 picture shrink at all: draft keeps both sides at least that large.)
                scale = max_edge / max(width, height)
                if scale < 1:
                    image.draft("RGB", (max(1, int(width * scale)), max(1, int(height * scale))))
            image.load()
            ImageOps.exif_transpose(image, in_place=True)
        except (OSError, SyntaxError, ValueError, Image.DecompressionBombWarning) as err:
            raise PhotoError(str(err), code="damaged") from err
    picture: Image.Image = _to_srgb(image)
    picture.thumbnail((max_edge, max_edge), Image.Resampling.LANCZOS)
    # A new image from the pixels alone: nothing from the file's info (EXIF, GPS, XMP,
    # comments, ICC) can come along, whatever the encoder would otherwise copy.
    clean = Image.new(picture.mode, picture.size)
    clean.paste(picture)
    return clean


def _to_srgb(image: Image.Image) -> Image.Image:
    """RGB or RGBA; a picture with a colour profile converted to sRGB, so it looks the same
    once the profile is dropped."""
    transparent = image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info
    profile = image.info.get("icc_profile")
    image = image.convert("RGBA" if transparent else "RGB")
    if profile:
        try:
            from PIL import ImageCms

            source = ImageCms.ImageCmsProfile(io.BytesIO(profile))
            target = ImageCms.createProfile("sRGB")
            converted = ImageCms.profileToProfile(image, source, target, outputMode=image.mode)
            if converted is not None:
                image = converted
        except (ImportError, OSError, ValueError, ImageCms.PyCMSError) as err:
            _LOGGER.info("colour profile not applied: %s", err)
    return image


def _encode(image: Image.Image) -> tuple[bytes, str]:
    """JPEG bytes, or PNG for a picture that really has transparent pixels (a logo)."""
    out = io.BytesIO()
    if image.mode == "RGBA":
        low = image.getchannel("A").getextrema()[0]
        if isinstance(low, int | float) and low < 255:
            image.save(out, format="PNG", optimize=True)
            return out.getvalue(), "png"
        image = image.convert("RGB")
    image.save(out, format="JPEG", quality=JPEG_QUALITY, optimize=True, progressive=True)
    return out.getvalue(), "jpeg"


def _write_whole(path: Path, data: bytes) -> None:
    """Temp file, fsync, rename, fsync the folder: the photo is there whole or not at all."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=FOLDER_MODE)
    handle, temp = tempfile.mkstemp(dir=path.parent, prefix=".incoming-")
    try:
        with os.fdopen(handle, "wb") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        os.chmod(temp, FILE_MODE)
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise
    folder = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(folder)
    finally:
        os.close(folder)
