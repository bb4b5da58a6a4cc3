"""Photos (issue 15, part U): hostile pictures refused or cleaned, judged by their bytes alone."""

from __future__ import annotations

import io
import struct
import zlib
from pathlib import Path

import pytest
from PIL import ExifTags, Image, ImageCms

from assistant.photos import PhotoError, PhotoStore, is_photo_id


def jpeg_with_gps(size: tuple[int, int] = (800, 600), orientation: int = 1) -> bytes:
    """A phone photo as phones make them: GPS, camera make, orientation, a comment, XMP, ICC."""
    image = Image.new("RGB", size, (200, 80, 40))
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = "PhoneMaker"
    exif[ExifTags.Base.Orientation] = orientation
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    gps[ExifTags.GPS.GPSLatitudeRef] = "N"
    gps[ExifTags.GPS.GPSLatitude] = (35.0, 39.0, 29.0)
    gps[ExifTags.GPS.GPSLongitudeRef] = "E"
    gps[ExifTags.GPS.GPSLongitude] = (139.0, 41.0, 30.0)
    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    out = io.BytesIO()
    image.save(
        out,
        format="JPEG",
        exif=exif,
        comment=b"home address: 1-2-3 Secret Street",
        xmp=b"<x:xmpmeta><rdf:Description GPSLatitude='35,39N'/></x:xmpmeta>",
        icc_profile=icc,
    )
    return out.getvalue()


def png_bytes(image: Image.Image) -> bytes:
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def png_header_only(width: int, height: int) -> bytes:
    """A tiny PNG announcing a huge picture: a decompression bomb's header."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return (
            struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
        )

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\0" * 1024))
        + chunk(b"IEND", b"")
    )


@pytest.fixture
def store(tmp_path: Path) -> PhotoStore:
    return PhotoStore(tmp_path / "photos", max_bytes=10_000_000, max_edge=1600)


def test_a_phone_photo_keeps_its_picture_and_loses_gps_and_every_other_metadata(
    store: PhotoStore,
) -> None:
    data = jpeg_with_gps()
    with Image.open(io.BytesIO(data)) as original:  # the hostile input really carries it all
        assert original.getexif().get_ifd(ExifTags.IFD.GPSInfo)
        assert "icc_profile" in original.info and "comment" in original.info
    photo = store.accept(data)
    stored = photo.path.read_bytes()
    with Image.open(photo.path) as image:
        assert image.format == "JPEG" and image.size == (800, 600)
        assert len(image.getexif()) == 0
        assert not set(image.info) & {"exif", "xmp", "comment", "icc_profile", "XML:com.adobe.xmp"}
        assert image.getpixel((400, 300))[0] > 150  # still the red-orange picture
    for secret in (b"Exif", b"PhoneMaker", b"Secret Street", b"xmpmeta", b"GPS"):
        assert secret not in stored
    assert is_photo_id(photo.id) and photo.path.parent == store.folder
    assert store.find(photo.id) == photo


def test_orientation_is_applied_and_big_photos_are_shrunk(store: PhotoStore) -> None:
    photo = store.accept(jpeg_with_gps((4000, 3000), orientation=6))  # taken holding it upright
    assert (photo.width, photo.height) == (1200, 1600)
    with Image.open(photo.path) as image:
        assert image.size == (1200, 1600)


def test_a_png_declared_as_jpeg_is_judged_by_its_bytes(store: PhotoStore, tmp_path: Path) -> None:
    named_jpg = tmp_path / "holiday.jpg"
    named_jpg.write_bytes(png_bytes(Image.new("RGB", (300, 200), (0, 90, 200))))
    photo = store.accept(named_jpg.read_bytes())
    with Image.open(photo.path) as image:  # opaque: stored as a JPEG, whatever it was called
        assert image.format == "JPEG" and image.size == (300, 200)


def test_a_transparent_logo_stays_transparent(store: PhotoStore) -> None:
    logo = Image.new("RGBA", (400, 400), (0, 0, 0, 0))
    logo.paste((20, 120, 60, 255), (100, 100, 300, 300))
    photo = store.accept(png_bytes(logo))
    with Image.open(photo.path) as image:
        assert image.format == "PNG" and image.mode == "RGBA"
        assert image.getpixel((10, 10))[3] == 0 and image.getpixel((200, 200))[3] == 255
        assert not set(image.info) & {"exif", "icc_profile"}


@pytest.mark.parametrize(
    ("data", "code"),
    [
        (b"<html><script>alert(1)</script></html>", "not_a_picture"),
        (b"%PDF-1.4\n" + b"x" * 100, "not_a_picture"),
        (png_header_only(8000, 8000), "too_many_pixels"),  # 64 megapixels from 100 bytes
        (png_header_only(60000, 60000), "too_many_pixels"),  # past Pillow's own bomb limit
        (b"", "not_a_picture"),
    ],
    ids=["text-named-jpg", "pdf", "bomb", "huge-bomb", "empty"],
)
def test_what_is_not_a_usable_picture_is_refused_with_its_reason(
    store: PhotoStore, data: bytes, code: str
) -> None:
    with pytest.raises(PhotoError) as refused:
        store.accept(data)
    assert refused.value.code == code
    assert not any(store.folder.glob("*")) if store.folder.exists() else True


def test_a_truncated_upload_is_a_damaged_file(store: PhotoStore) -> None:
    data = jpeg_with_gps((1200, 900))
    image = Image.effect_noise((1200, 900), 50).convert("RGB")
    out = io.BytesIO()
    image.save(out, format="JPEG")
    for cut in (out.getvalue()[: len(out.getvalue()) // 2], data[:400]):
        with pytest.raises(PhotoError) as refused:
            store.accept(cut)
        assert refused.value.code in ("damaged", "not_a_picture")
    with pytest.raises(PhotoError) as refused:
        store.accept(out.getvalue()[: len(out.getvalue()) // 2])
    assert refused.value.code == "damaged"


def test_too_big_is_refused_before_decoding(tmp_path: Path) -> None:
    store = PhotoStore(tmp_path, max_bytes=1000)
    with pytest.raises(PhotoError) as refused:
        store.accept(b"\xff\xd8" + b"\0" * 2000)  # not even a picture: size is checked first
    assert refused.value.code == "too_big"


def test_ids_are_unguessable_and_never_paths(store: PhotoStore) -> None:
    one = store.accept(jpeg_with_gps((64, 64)))
    two = store.accept(jpeg_with_gps((64, 64)))
    assert one.id != two.id and len(one.id) >= 24
    for bad in ("../../etc/passwd", "", None, 42, one.id + "/..", "a" * 10):
        assert store.find(bad) is None
    assert not list(store.folder.glob(".incoming-*"))
