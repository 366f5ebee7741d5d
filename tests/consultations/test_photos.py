"""Photos: decoded to check their type, re-encoded without EXIF (GPS location included),
size-limited with a message a person reads."""

import io
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import ExifTags, Image, ImageChops, ImageStat

from consultations.photos import MAX_EDGE, PHOTO_MAX_BYTES, PhotoError, photo_clean
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


# --- scaled down on store, upright (issue #24 follow-up) ---------------------------------------

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "photos"


def test_a_real_size_photo_is_scaled_down_upright_and_without_exif():
    """A 12-megapixel camera frame taken with the phone turned (EXIF orientation 6: the
    pixels are stored sideways; shown, they turn 90° clockwise) and GPS: stored 1920 × 2560,
    the marker in the stored pixels' top-left now at the top right, and no EXIF at all."""
    raw = Image.new("RGB", (4000, 3000), (240, 240, 240))
    raw.paste((220, 0, 0), (0, 0, 600, 600))  # top-left of the sensor's frame
    exif = Image.Exif()
    exif[ExifTags.Base.Orientation] = 6
    exif[ExifTags.IFD.GPSInfo] = {ExifTags.GPS.GPSLatitudeRef: "N"}
    out = io.BytesIO()
    raw.save(out, "JPEG", quality=95, exif=exif.tobytes())
    assert len(out.getvalue()) > 50_000  # a real-size file, not a thumbnail

    clean = photo_clean(SimpleUploadedFile("sideways.jpg", out.getvalue(), "image/jpeg"))

    assert (clean.width, clean.height) == (1920, 2560)  # portrait, aspect 3:4 kept
    with Image.open(io.BytesIO(clean.content)) as stored:
        assert stored.size == (1920, 2560) and max(stored.size) == MAX_EDGE
        assert not stored.getexif() and not has_gps(clean.content)
        red, green, _blue = stored.convert("RGB").getpixel((1920 - 100, 100))
        assert red > 180 and green < 60  # top right
        assert stored.convert("RGB").getpixel((100, 100))[1] > 200  # top left: background


def test_a_large_png_keeps_its_aspect():
    out = io.BytesIO()
    Image.new("RGB", (3000, 1000), (0, 90, 200)).save(out, "PNG")
    clean = photo_clean(SimpleUploadedFile("wide.png", out.getvalue(), "image/png"))
    assert clean.content_type == "image/png"
    assert (clean.width, clean.height) == (2560, 853)


def test_a_photo_within_the_limit_keeps_its_size():
    clean = photo_clean(SimpleUploadedFile("meal.jpg", jpeg_with_gps((2560, 1200)), "image/jpeg"))
    assert (clean.width, clean.height) == (2560, 1200)


def fixture_bytes(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def test_the_fixture_phone_photos_are_real_heic_with_what_the_tests_need():
    """Guards the fixtures (tests/fixtures/photos/PROVENANCE.md): a phone's HEIC with GPS,
    and an iPhone HEIC whose rotation is an irot box."""
    with Image.open(io.BytesIO(fixture_bytes("pillow-heif__xiaomi.heic"))) as xiaomi:
        assert xiaomi.format == "HEIF" and xiaomi.size == (2592, 1944)
        assert xiaomi.getexif()[ExifTags.Base.Make] == "Xiaomi"
        assert has_gps(fixture_bytes("pillow-heif__xiaomi.heic"))
        assert xiaomi.getexif().get_ifd(ExifTags.IFD.GPSInfo)
    arrow = fixture_bytes("pillow-heif__arrow.heic")
    assert b"irot\x03" in arrow  # coded landscape, rotated 270° anticlockwise to show upright
    with Image.open(io.BytesIO(arrow)) as image:
        assert image.format == "HEIF" and image.size == (3024, 4032)
        assert image.getexif()[ExifTags.Base.Model] == "iPhone 8 Plus"


def test_a_real_phone_heic_is_stored_as_jpeg_without_gps_and_the_same_way_round():
    clean = photo_clean(
        SimpleUploadedFile("IMG_2023.HEIC", fixture_bytes("pillow-heif__xiaomi.heic"), "image/heic")
    )
    assert clean.content_type == "image/jpeg"
    assert (clean.width, clean.height) == (2560, 1920)  # landscape, 4:3 kept
    assert not has_gps(clean.content)
    assert b"Xiaomi" not in clean.content and b"Exif" not in clean.content
    with Image.open(io.BytesIO(fixture_bytes("pillow-heif__xiaomi.heic"))) as original:
        expected = original.convert("RGB").resize((64, 48))
    with Image.open(io.BytesIO(clean.content)) as stored:
        assert stored.format == "JPEG"
        got = stored.convert("RGB").resize((64, 48))
    # The same picture, the same way round: a small mean difference per channel (a turned or
    # mirrored picture differs by far more).
    diff = ImageChops.difference(expected, got)
    assert sum(ImageStat.Stat(diff).mean) / 3 < 6
    turned = ImageChops.difference(expected, got.transpose(Image.Transpose.ROTATE_180))
    assert sum(ImageStat.Stat(turned).mean) / 3 > 12


def dark_span(image, y: int) -> int:
    """How wide the drawn (dark) part of row ``y`` is, in pixels."""
    xs = [x for x in range(image.width) if image.getpixel((x, y)) < 90]
    return (xs[-1] - xs[0]) if xs else 0


def test_an_iphone_heic_rotated_by_its_irot_box_stays_upright():
    clean = photo_clean(
        SimpleUploadedFile("IMG_0001.HEIC", fixture_bytes("pillow-heif__arrow.heic"))
    )
    assert clean.content_type == "image/jpeg"
    assert (clean.width, clean.height) == (1920, 2560)  # portrait, as taken
    assert not has_gps(clean.content)
    with Image.open(io.BytesIO(clean.content)) as stored:
        grey = stored.convert("L").resize((192, 256))
    # The arrow points up: its head (wide) is in the upper half, its shaft (narrow) below.
    head = max(dark_span(grey, y) for y in range(40, 128))
    shaft = max(dark_span(grey, y) for y in range(150, 215))
    assert head > 1.5 * shaft, (head, shaft)
