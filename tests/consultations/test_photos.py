"""Photos: decoded to check their type, re-encoded without EXIF (GPS location included),
size-limited with a message a person reads."""

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from consultations.photos import PHOTO_MAX_BYTES, PhotoError, photo_clean
from tests.consultations.helpers import has_gps, jpeg_with_gps, png


def test_the_test_photo_really_carries_gps():
    assert has_gps(jpeg_with_gps())


def test_it_strips_gps_exif_from_a_jpeg():
    clean = photo_clean(SimpleUploadedFile("meal.jpg", jpeg_with_gps(), "image/jpeg"))
    assert clean.content_type == "image/jpeg"
    assert (clean.width, clean.height) == (64, 48)
    assert not has_gps(clean.content)
    assert b"PhoneMaker" not in clean.content


def test_it_keeps_a_png_a_png():
    clean = photo_clean(SimpleUploadedFile("meter.png", png(), "image/png"))
    assert clean.content_type == "image/png"
    with Image.open(io.BytesIO(clean.content)) as image:
        assert image.format == "PNG"


def test_it_converts_heic_to_jpeg():
    import pillow_heif

    out = io.BytesIO()
    pillow_heif.from_pillow(Image.new("RGB", (40, 30), (10, 20, 30))).save(out, quality=80)
    clean = photo_clean(SimpleUploadedFile("foot.heic", out.getvalue(), "image/heic"))
    assert clean.content_type == "image/jpeg"
    assert (clean.width, clean.height) == (40, 30)


def test_it_refuses_a_file_that_is_not_an_image():
    with pytest.raises(PhotoError) as refused:
        photo_clean(SimpleUploadedFile("photo.jpg", b"%PDF-1.4 not a photo", "image/jpeg"))
    assert refused.value.status == 400
    assert "JPEG, PNG or HEIC" in str(refused.value)


def test_it_refuses_another_image_type():
    out = io.BytesIO()
    Image.new("RGB", (8, 8)).save(out, "GIF")
    with pytest.raises(PhotoError):
        photo_clean(SimpleUploadedFile("anim.gif", out.getvalue(), "image/gif"))


def test_it_refuses_a_photo_over_ten_megabytes_with_413():
    big = SimpleUploadedFile("huge.jpg", b"\xff\xd8" + b"0" * PHOTO_MAX_BYTES, "image/jpeg")
    with pytest.raises(PhotoError) as refused:
        photo_clean(big)
    assert refused.value.status == 413
    assert "10 MB" in str(refused.value)
