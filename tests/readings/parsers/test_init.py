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


def test_it_rejects_future_and_pre_1970_times_with_a_reason_and_a_warning():
    data = (
        b"timestamp,value,unit\n"
        b"2027-01-02T10:00:00Z,120,mg/dL\n"
        b"1969-12-31T23:00:00Z,121,mg/dL\n"
        b"2026-12-31T10:00:00Z,122,mg/dL\n"
    )
    result = collect(data, now=datetime(2027, 1, 1, tzinfo=UTC))
    assert [r.value_mg_dl for r in result.readings] == [122]
    assert [(e.line, e.reason) for e in result.errors] == [
        (
            2,
            "time 2027-01-02T10:00Z is in the future (now 2027-01-01T00:00Z): check the"
            " device clock and the time zone",
        ),
        (3, "time 1969-12-31T23:00Z is before 1970"),
    ]
    assert any("1 records dated in the future" in w for w in result.warnings)
    # Within the tolerance (a device clock a little fast) the reading stands.
    quiet = collect(data, now=datetime(2027, 1, 2, 9, 30, tzinfo=UTC))
    assert [r.value_mg_dl for r in quiet.readings] == [120, 122]
    assert quiet.warnings == []


def test_it_decodes_utf16_with_crlf():
    text = "timestamp,value,unit\r\n2024-03-01T08:00:00Z,5.4,mmol/L\r\n"
    for encoding in ("utf-16", "utf-16-le"):
        result = collect(text.encode(encoding))
        assert [r.value_mg_dl for r in result.readings] == [97.0]
