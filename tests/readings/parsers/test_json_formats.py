import json
import statistics
from datetime import UTC, datetime, timedelta

import pytest

from readings.parsers import parse

from .helpers import FIXTURES, collect

NIGHTSCOUT = FIXTURES / "nightscout/cgm_format__nightscout_entries.json"
TIDEPOOL = FIXTURES / "tidepool/sensotrend-converter__data_tandem_cbg.json"
BUNDLE = FIXTURES / "fhir/sensotrend-converter__bundle.json"


def test_it_reads_nightscout_entries():
    result = collect(NIGHTSCOUT)
    # The file has 1,000 sgv, six below 40 (no device field): 34, 32, 34, 38 are below any
    # CGM's range (rejected, issue #17); the two 39s are Dexcom's LOW as Nightscout shows an
    # sgv of 39 without a device: stored at 40, flagged "low".
    assert result.kinds() == {"cgm": 996}
    assert [e.line for e in result.errors] == [246, 247, 248, 249]
    assert all("below any CGM's reporting range" in e.reason for e in result.errors)
    sgv = [entry["sgv"] for entry in json.loads(NIGHTSCOUT.read_text())]
    expected = [40 if value == 39 else value for value in sgv if value >= 39]
    assert statistics.mean(r.value_mg_dl for r in result.readings) == statistics.mean(expected)
    assert [(r.value_mg_dl, r.flag) for r in result.readings if r.line in (345, 346)] == [
        (40, "low"),
        (40, "low"),
    ]
    first = result.readings[0]
    assert (first.line, first.value_mg_dl) == (1, 162)
    assert first.timestamp.isoformat() == "2026-04-05T20:30:29+00:00"


def test_it_reads_a_single_nightscout_object_and_mbg_with_date_string_fallback():
    entry = {
        "type": "mbg",
        "mbg": 104,
        "dateString": "2024-03-01T08:00:00+01:00",
        "device": "meter",
    }
    result = collect(json.dumps(entry).encode())
    assert [(r.kind, r.value_mg_dl, r.device) for r in result.readings] == [("smbg", 104, "meter")]
    assert result.readings[0].timestamp.isoformat() == "2024-03-01T07:00:00+00:00"


def test_it_reads_tidepool_cbg_using_time_not_device_time():
    result = collect(TIDEPOOL)
    cgm = result.of("cgm")
    assert len(cgm) == 637
    values = [r.value_mg_dl for r in cgm]
    assert (min(values), max(values)) == (50, 256)
    assert round(statistics.mean(values), 1) == 143.2
    assert cgm[0].timestamp.isoformat() == "2021-10-23T02:51:20+00:00"
    assert cgm[0].device == "tandemCIQ1002717799999"


def test_it_converts_tidepool_mmol_values():
    records = [
        {"type": "smbg", "units": "mmol/L", "value": 7.1596, "time": "2024-01-01T00:00:00Z"},
        {"type": "cbg", "units": "mmol/L", "value": 10.0, "time": "2024-01-01T00:05:00.000Z"},
    ]
    result = collect(json.dumps(records).encode())
    assert [(r.kind, r.value_mg_dl) for r in result.readings] == [("smbg", 129), ("cgm", 180)]


def test_it_reads_the_fhir_bundle_matching_the_tidepool_values():
    fhir = collect(BUNDLE)
    glucose = fhir.readings
    assert len(glucose) == 637
    tidepool_values = sorted(r.value_mg_dl for r in collect(TIDEPOOL).of("cgm"))
    assert sorted(r.value_mg_dl for r in glucose) == tidepool_values
    assert glucose[0].value_mg_dl == round(7.16 * 18.01559) == 129
    assert glucose[0].timestamp.isoformat() == "2021-09-04T13:39:35+00:00"
    assert [t.kind for t in fhir.treatments] == ["carbs"] * 9


def test_it_maps_fhir_loinc_codes_to_kinds():
    def observation(code, value, unit, device=None):
        resource = {
            "resourceType": "Observation",
            "status": "final",
            "code": {"coding": [{"system": "http://loinc.org", "code": code}]},
            "effectiveDateTime": "2024-01-01T08:00:00Z",
            "valueQuantity": {"value": value, "unit": unit},
        }
        if device:
            resource["device"] = {"display": device}
        return resource

    resources = [
        observation("99504-3", 120, "mg/dL"),
        observation("105272-9", 5.5, "mmol/L"),
        observation("41653-7", 98, "mg/dL"),
        observation("14743-9", 3.9, "MMOL/L"),
        observation("2339-0", 1200, "mg/dL"),
        observation("14745-4", 6.0, "mmol/l", device="Dexcom G7 CGM"),
        observation("8867-4", 70, "/min"),  # heart rate: not glucose, skipped
    ]
    result = collect(json.dumps(resources).encode(), format="fhir")
    assert [(r.line, r.kind, r.value_mg_dl) for r in result.readings] == [
        (1, "cgm", 120),
        (2, "cgm", 99),
        (3, "smbg", 98),
        (4, "smbg", 70),
        (6, "cgm", 108),
    ]
    assert [(e.line, e.reason) for e in result.errors] == [
        (5, "glucose 1200 mg/dL is impossible (> 1000)")
    ]


@pytest.mark.parametrize(
    "fmt,first,noun",
    [
        ("nightscout", {"type": "sgv", "sgv": 120, "date": 1767225600000}, "entry"),
        (
            "tidepool",
            {"type": "cbg", "units": "mg/dL", "value": 120, "time": "2026-01-01T00:00:00Z"},
            "record",
        ),
        (
            "fhir",
            {
                "resourceType": "Observation",
                "status": "final",
                "code": {"coding": [{"system": "http://loinc.org", "code": "99504-3"}]},
                "effectiveDateTime": "2026-01-01T00:00:00Z",
                "valueQuantity": {"value": 120, "unit": "mg/dL"},
            },
            "resource",
        ),
    ],
)
def test_it_keeps_the_elements_before_json_that_breaks_off(fmt, first, noun):
    data = ("[" + json.dumps(first) + ', {"broken": ').encode()
    items = list(parse(data, format=fmt).items())
    assert [type(item).__name__ for item in items] == ["Reading", "RowError"]
    assert items[0].value_mg_dl == 120
    assert items[1].line == 2 and f"malformed after {noun} 1" in items[1].reason


def _series(code: str, step_minutes: int, count: int, device: str = "") -> list:
    start = datetime(2024, 1, 1, 8, tzinfo=UTC)
    out = []
    for i in range(count):
        resource = {
            "resourceType": "Observation",
            "status": "final",
            "code": {"coding": [{"system": "http://loinc.org", "code": code}]},
            "effectiveDateTime": (start + timedelta(minutes=step_minutes * i)).isoformat(),
            "valueQuantity": {"value": 6.0 + i % 3, "unit": "mmol/L"},
        }
        if device:
            resource["device"] = {"display": device}
        out.append(resource)
    return out


def test_it_reads_a_generic_loinc_code_as_cgm_when_its_series_has_a_sensor_cadence():
    # LOINC 14745-4 (glucose in body fluid) says no method: a 5-minute series is a sensor's,
    # readings hours apart are a meter's, whatever the device's name.
    series = _series("14745-4", 5, 30, device="t:slim X2")
    meter = _series("14745-4", 240, 6, device="Contour Next")
    short = _series("2339-0", 5, 3, device="Accu-Chek")  # too few to call a series
    result = collect(json.dumps(series + meter + short).encode(), format="fhir")
    by_device = {}
    for r in result.readings:
        by_device.setdefault(r.device, set()).add(r.kind)
    assert by_device == {"t:slim X2": {"cgm"}, "Contour Next": {"smbg"}, "Accu-Chek": {"smbg"}}
    assert len(result.readings) == 39
    # A glucometer code stays SMBG even every 5 minutes.
    glucometer = collect(json.dumps(_series("41653-7", 5, 30)).encode(), format="fhir")
    assert glucometer.kinds() == {"smbg": 30}


def test_it_reads_the_fixture_bundle_as_the_cgm_series_it_is():
    assert collect(BUNDLE).kinds() == {"cgm": 637}


DEEP = 100_000  # far beyond Python's recursion limit (README: "JSON nested 100,000 deep")
NESTED_FILES = {
    "arrays": b"[" * DEEP,
    "objects": b'{"a":' * DEEP,
    "element after a good one": b'[{"type": "sgv", "sgv": 120, "date": 1714550400000}, '
    + b"[" * DEEP,
    "bundle": b'{"resourceType": "Bundle", "type": "collection", "entry": ' + b"[" * DEEP,
}


@pytest.mark.parametrize("fmt", ["nightscout", "tidepool", "fhir"])
@pytest.mark.parametrize("name", NESTED_FILES)
def test_it_refuses_json_nested_too_deeply_as_an_unreadable_file(fmt, name):
    """A parse error like any other (the upload fails with its reason), not RecursionError."""
    from readings.parsers import UnreadableFile

    with pytest.raises(UnreadableFile, match="nested too deeply"):
        list(parse(NESTED_FILES[name], format=fmt).items())


def test_it_refuses_a_deeply_nested_bundle_found_by_detection():
    from readings.parsers import UnreadableFile

    with pytest.raises(UnreadableFile, match="nested too deeply"):
        list(parse(NESTED_FILES["bundle"], format="auto").items())
