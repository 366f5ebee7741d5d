"""Photos sent with a consultation: checked by decoding (never by name or declared type),
re-encoded without any metadata (EXIF, GPS location, XMP, comments), at most
``PHOTO_MAX_BYTES`` each and ``PHOTOS_PER_MESSAGE`` per message.

JPEG stays JPEG, PNG stays PNG; HEIC/HEIF (phones' default) becomes JPEG. Re-encoding from the
decoded pixels is what strips the metadata: nothing of the original file is copied. The
camera's orientation tag is applied to the pixels first, so a photo taken sideways is stored
the right way up without the tag; then a photo larger than ``MAX_EDGE`` on its longest side is
scaled down to it, keeping its aspect (a 12-megapixel phone photo is 4032 px wide; the studio
shows it on a screen).

The API may send photos in JSON as base64 strings or ``data:`` URLs (``photos_from_json``):
the count and each one's size are checked before anything is decoded.
"""

from __future__ import annotations

import binascii
import io
import re
from base64 import b64decode
from dataclasses import dataclass

from django.utils.translation import gettext as _
from PIL import Image, ImageOps, UnidentifiedImageError
from pillow_heif import register_heif_opener

register_heif_opener()  # HEIC/HEIF through Pillow (pillow-heif, pinned in requirements.txt)

PHOTO_MAX_BYTES = 10 * 1024 * 1024
PHOTOS_PER_MESSAGE = 5
MAX_PIXELS = 50_000_000  # a decompression bomb is refused before it is decoded
MAX_EDGE = 2560  # the longest side of a stored photo, in pixels
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
    """Decode ``upload`` (a file object, bytes or ``PhotoData``) and return it re-encoded,
    upright, at most ``MAX_EDGE`` px on its longest side and metadata-free.

    Raises ``PhotoError`` when it is over the size limit (413), not a JPEG/PNG/HEIC image, or
    cannot be decoded (400).
    """
    if isinstance(upload, PhotoData):
        name, upload = name or upload.name, upload.content
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
            upright = ImageOps.exif_transpose(image)  # orientation first, then the tag goes
            if max(upright.size) > MAX_EDGE:
                upright.thumbnail((MAX_EDGE, MAX_EDGE), Image.Resampling.LANCZOS, reducing_gap=3.0)
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


# --- photos in a JSON body ------------------------------------------------------------------

DATA_URL = re.compile(r"data:([\w.+/-]*)((?:;[\w.+=-]+)*),", re.ASCII)
WHITESPACE = re.compile(rb"[ \t\r\n]+")
# Base64 of PHOTO_MAX_BYTES, plus room for a data: URL's header and line breaks.
ENCODED_MAX_CHARS = (PHOTO_MAX_BYTES + 2) // 3 * 4 + 4096 + PHOTO_MAX_BYTES // 38


@dataclass(frozen=True)
class PhotoData:
    """A photo's bytes from a JSON body, with the name a refusal uses ("photos.2")."""

    name: str
    content: bytes


def photos_from_json(value) -> list[PhotoData]:
    """``photos`` of a JSON body as bytes: absent or null is none; otherwise a list of at most
    ``PHOTOS_PER_MESSAGE`` strings, each plain base64 (standard or URL-safe alphabet, line
    breaks allowed) or a ``data:`` URL (``data:image/jpeg;base64,...``; the type it declares
    is not trusted: ``photo_clean`` decodes). Raises ``PhotoError``: 400 for a wrong shape or
    bad base64, 413 for a photo over ``PHOTO_MAX_BYTES`` once decoded (found from the length,
    before decoding)."""
    if value is None:
        return []
    if not isinstance(value, list):
        raise PhotoError(_("photos: send a list of base64 strings or data: URLs."))
    if len(value) > PHOTOS_PER_MESSAGE:
        raise PhotoError(
            _("Send at most %(n)s photos with one message.") % {"n": PHOTOS_PER_MESSAGE}
        )
    return [_one_from_json(item, f"photos.{i}") for i, item in enumerate(value)]


def _one_from_json(item, name: str) -> PhotoData:
    if not isinstance(item, str) or not item:
        raise PhotoError(
            _("%(name)s: send the photo as a base64 string or a data: URL.") % {"name": name}
        )
    if len(item) > ENCODED_MAX_CHARS:
        raise PhotoError(too_large_message(name), status=413)
    if item[:5].lower() == "data:":
        header = DATA_URL.match(item[:300])
        if header is None or "base64" not in header.group(2).lower().split(";"):
            raise PhotoError(
                _("%(name)s: a data: URL must be base64 (data:image/jpeg;base64,...).")
                % {"name": name}
            )
        item = item[header.end() :]
    try:
        encoded = WHITESPACE.sub(b"", item.encode("ascii"))
    except UnicodeEncodeError:
        raise PhotoError(_("%(name)s is not valid base64.") % {"name": name}) from None
    if len(encoded) // 4 * 3 > PHOTO_MAX_BYTES + 2:
        raise PhotoError(too_large_message(name), status=413)
    if b"-" in encoded or b"_" in encoded:
        encoded = encoded.replace(b"-", b"+").replace(b"_", b"/")
    encoded += b"=" * (-len(encoded) % 4)
    try:
        content = b64decode(encoded, validate=True)
    except (binascii.Error, ValueError):
        raise PhotoError(_("%(name)s is not valid base64.") % {"name": name}) from None
    if not content:
        raise PhotoError(_("%(name)s is not valid base64.") % {"name": name})
    if len(content) > PHOTO_MAX_BYTES:
        raise PhotoError(too_large_message(name), status=413)
    return PhotoData(name, content)
