"""What a file is, decided from its content (puremagic's signatures, never the name or the header the
client sent), and the copies of a photo that leave the bureau: re-encoded by Pillow with the EXIF
orientation applied and every piece of metadata (GPS, camera, time) left behind."""

from __future__ import annotations

import io
from typing import BinaryIO

import puremagic
from PIL import Image, ImageOps

# Enough of a file's start for every signature puremagic knows at the head (MP4's `ftyp` at byte 4,
# WebM's EBML doctype a few dozen bytes in).
HEAD = 64 * 1024

# A photo's copies are JPEG (thumbnails) or the photo's own format when it has transparency.
_SAVE = {"JPEG": ("JPEG", {"quality": 85}), "PNG": ("PNG", {}), "WEBP": ("WEBP", {"quality": 85}), "GIF": ("PNG", {})}


# The pixel limit is workflows/evidence.yaml's, checked in open_image; Pillow's own process-wide one
# (a warning, then an error, at other numbers) would only say the same thing later and less clearly.
Image.MAX_IMAGE_PIXELS = None


class Unreadable(Exception):
    """The content is not what its kind accepts, or an image does not decode."""


def sniff(stream: BinaryIO, accepted: tuple[str, ...]) -> str | None:
    """The first type the content's signatures name that `accepted` lists, else None."""
    head = stream.read(HEAD)
    stream.seek(0)
    try:
        candidates = puremagic.magic_string(head)
    except (puremagic.PureError, ValueError):
        return None
    return next((c.mime_type for c in candidates if c.mime_type in accepted), None)


def open_image(stream: BinaryIO, max_pixels: int) -> Image.Image:
    """The decoded image; Unreadable when it does not decode or has more than `max_pixels` pixels
    (a decompression bomb: a small file that would take gigabytes to decode), which is checked from
    the header, before decoding."""
    try:
        image = Image.open(stream)
        width, height = image.size
        if width * height > max_pixels:
            raise Unreadable("bomb")
        image.load()
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError):
        raise Unreadable("undecodable") from None
    return image


def _encode(image: Image.Image, source_format: str | None) -> bytes:
    name, options = _SAVE.get(source_format or "", ("JPEG", {"quality": 85}))
    if name == "JPEG" and image.mode not in ("RGB", "L"):
        image = image.convert("RGB")
    out = io.BytesIO()
    image.save(out, name, **options)  # no exif=, no icc/xmp: the copy carries no metadata
    return out.getvalue()


def stripped_type(content_type: str) -> str:
    """The type of a photo's full-size copy without metadata (a GIF's is a PNG)."""
    return {"image/gif": "image/png"}.get(content_type, content_type)


def stripped_copies(image: Image.Image, thumbnail: int) -> tuple[bytes, bytes]:
    """(thumbnail, full-size copy) of a decoded photo, upright and without metadata."""
    source_format = image.format
    upright = ImageOps.exif_transpose(image)
    full = _encode(upright.copy(), source_format)
    small = upright.copy()
    small.thumbnail((thumbnail, thumbnail))
    return _encode(small, "JPEG"), full
