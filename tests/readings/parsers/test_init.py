import io
import shutil
from datetime import UTC, datetime

import pytest

from readings.parsers import FORMATS, UnreadableFile, detect_format, parse

from .helpers import FIXTURES, collect

EXPECTED_FORMATS = {
    "dexcom_clarity/cgmquantify__test_file.csv": "dexcom",
    "dexcom_clarity/sugar-sugar__example.csv": "dexcom",
    "libreview/cgmr__Firstname1Lastname1_glucose_mgdl_US.csv": "libreview",
    "libreview/glyco__tiny_sample_mmol_EU.csv": "libreview",
    "medtronic_carelink/cgm_format__medtronics_test_livia_GuardianConnect_EU.csv": "carelink",
    "nightscout/cgm_format__nightscout_entries.json": "nightscout",
    "tidepool/sensotrend-converter__data_tandem_cbg.json": "tidepool",
    "fhir/sensotrend-converter__bundle.json": "fhir",
}


def test_it_lists_the_formats_of_the_contract():
    assert FORMATS == ("dexcom", "libreview", "carelink", "nightscout", "tidepool", "fhir", "csv")


@pytest.mark.parametrize("name, expected", EXPECTED_FORMATS.items())
def test_it_detects_every_fixture_from_content(name, expected):
    head = (FIXTURES / name).read_bytes()[:4096]
    assert detect_format(head) == expected


@pytest.mark.parametrize("name, expected", EXPECTED_FORMATS.items())
def test_it_ignores_a_misleading_filename(tmp_path, name, expected):
    misleading = tmp_path / "nightscout_export.csv"
    shutil.copyfile(FIXTURES / name, misleading)
    assert parse(misleading).format == expected


def test_it_accepts_bytes_paths_and_open_files():
    path = FIXTURES / "libreview/glyco__tiny_sample_mmol_EU.csv"
    for source in (path, str(path), path.read_bytes(), io.BytesIO(path.read_bytes())):
        assert len(collect(source).readings) == 6


@pytest.mark.parametrize(
    "content, reason",
    [
        (b"", "empty"),
        (b"   \r\n\r\n", "empty"),
        (bytes(range(256)) * 20, "not text"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + b"\x00\x01" * 300, "not text"),
        (b"name,age,city\nAda,36,London\n", "not a known device export"),
        (b"just some words\nno columns at all\n", "not a known device export"),
    ],
)
def test_it_rejects_unreadable_files_with_a_reason(content, reason):
    with pytest.raises(UnreadableFile, match=reason):
        parse(content)


def test_it_rejects_a_forced_format_whose_header_does_not_fit():
    with pytest.raises(UnreadableFile, match="header"):
        parse(b"name,age,city\nAda,36,London\n", format="libreview")


def test_it_rejects_an_unknown_format_name():
    with pytest.raises(UnreadableFile, match="unknown format"):
        parse(b"timestamp,value,unit\n", format="excel")


def test_it_warns_when_the_newest_reading_is_in_the_future():
    data = b"timestamp,value,unit\n2027-01-02T10:00:00Z,120,mg/dL\n"
    result = collect(data, now=datetime(2026, 1, 1, tzinfo=UTC))
    assert any("in the future" in w and "2027-01-02T10:00Z" in w for w in result.warnings)
    quiet = collect(data, now=datetime(2027, 1, 2, 9, 30, tzinfo=UTC))
    assert quiet.warnings == []


def test_it_decodes_utf16_with_crlf():
    text = "timestamp,value,unit\r\n2024-03-01T08:00:00Z,5.4,mmol/L\r\n"
    for encoding in ("utf-16", "utf-16-le"):
        result = collect(text.encode(encoding))
        assert [r.value_mg_dl for r in result.readings] == [97.0]
