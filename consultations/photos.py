"""Photos sent with a consultation: checked by decoding (never by name or declared type),
re-encoded without any metadata (EXIF, GPS location, XMP, comments), at most
``PHOTO_MAX_BYTES`` each and ``PHOTOS_PER_MESSAGE`` per message.

JPEG stays JPEG, PNG stays PNG; HEIC/HEIF (phones' default) becomes JPEG. Re-encoding from the
decoded pixels is what strips the metadata: nothing of the original file is copied. The
camera's orientation tag is applied to the pixels first, so a photo taken sideways is stored
the right way up without the tag.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

from django.utils.translation import gettext as _
from PIL import Image, ImageOps, UnidentifiedImageError
from pillow_heif import register_heif_opener

register_heif_opener()  # HEIC/HEIF through Pillow (pillow-heif, pinned in requirements.txt)

PHOTO_MAX_BYTES = 10 * 1024 * 1024
PHOTOS_PER_MESSAGE = 5
MAX_PIXELS = 50_000_000  # a decompression bomb is refused before it is decoded
ACCEPTED = {"JPEG": "JPEG", "PNG": "PNG", "HEIF": "JPEG", "HEIC": "JPEG", "MPO": "JPEG"}


class PhotoError(ValueError):
    """A photo refused, with the reason a person reads; ``status`` 413 for too large."""

    def __init__(self, message: str, status: int = 400):
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class CleanPhoto:
    content: bytes
    content_type: str  # image/jpeg | image/png
    extension: str
    width: int
    height: int


def too_large_message(name: str) -> str:
    return _("%(name)s is larger than %(mb)s MB; send a smaller photo.") % {
        "name": name,
        "mb": PHOTO_MAX_BYTES // (1024 * 1024),
    }


def photo_clean(upload, *, name: str = "") -> CleanPhoto:
    """Decode ``upload`` (a file object or bytes) and return it re-encoded, metadata-free.

    Raises ``PhotoError`` when it is over the size limit (413), not a JPEG/PNG/HEIC image, or
    cannot be decoded (400).
    """
    name = (name or getattr(upload, "name", "") or _("the photo"))[:80]
    size = len(upload) if isinstance(upload, bytes | bytearray) else getattr(upload, "size", None)
    if size is not None and size > PHOTO_MAX_BYTES:
        raise PhotoError(too_large_message(name), status=413)
    if isinstance(upload, bytes | bytearray):
        raw = bytes(upload)
    else:
        raw = upload.read(PHOTO_MAX_BYTES + 1)
    if len(raw) > PHOTO_MAX_BYTES:
        raise PhotoError(too_large_message(name), status=413)
    not_a_photo = _("%(name)s is not a photo we can read: send a JPEG, PNG or HEIC image.") % {
        "name": name
    }
    try:
        with Image.open(io.BytesIO(raw)) as image:
            kind = ACCEPTED.get((image.format or "").upper())
            if kind is None:
                raise PhotoError(not_a_photo)
            if image.width * image.height > MAX_PIXELS:
                raise PhotoError(not_a_photo)
            image.load()
            upright = ImageOps.exif_transpose(image)
            out = io.BytesIO()
            if kind == "PNG":
                keep = upright.mode in ("RGB", "RGBA", "L", "LA")
                clean = upright if keep else upright.convert("RGBA")
                fresh = Image.frombytes(clean.mode, clean.size, clean.tobytes())
                fresh.save(out, "PNG", optimize=True)
                return CleanPhoto(out.getvalue(), "image/png", "png", *fresh.size)
            clean = upright.convert("RGB")
            fresh = Image.frombytes("RGB", clean.size, clean.tobytes())  # pixels only, no info
            fresh.save(out, "JPEG", quality=88)
            return CleanPhoto(out.getvalue(), "image/jpeg", "jpg", *fresh.size)
    except PhotoError:
        raise
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError, Image.DecompressionBombError):
        raise PhotoError(not_a_photo) from None
