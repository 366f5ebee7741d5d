"""Data integrity (issue #11, parser side): meaning of values, strict JSON types, plausible
time, bounded failure. Each test failed before its fix."""

import json
import math
from datetime import UTC, datetime

import pytest

from readings.parsers import MAX_LISTED_ROW_ERRORS, UnreadableFile

from .helpers import SHARED_DATA, collect

NOW = datetime(2025, 1, 1, tzinfo=UTC)
EPOCH_2024 = 1_704_067_200_000  # 2024-01-01T00:00Z


def _ns(*values) -> bytes:
    return json.dumps(
        [{"type": "sgv", "sgv": v, "date": EPOCH_2024 + i * 300_000} for i, v in enumerate(values)]
    ).encode()


# --- 1. sensor status codes are not glucose -----------------------------------------------


def test_it_rejects_nightscout_status_codes_and_keeps_glucose_around_them():
    result = collect(_ns(120, 10, 10, 9, 5, 12, 1, 118), now=NOW)
    assert [r.value_mg_dl for r in result.readings] == [120, 118]
    assert [e.line for e in result.errors] == [2, 3, 4, 5, 6, 7]
    assert result.errors[2].reason == "sensor status code 9 (absolute deviation), not glucose"
    assert "bad RF" in result.errors[4].reason and "sensor not active" in result.errors[5].reason


def test_it_does_not_read_a_run_of_status_codes_as_a_unit_mix_up():
    result = collect(_ns(*([10] * 60 + [120] * 5)), now=NOW)
    assert len(result.readings) == 5 and len(result.errors) == 60


def test_it_keeps_a_meter_value_below_40_as_glucose():
    data = json.dumps([{"type": "mbg", "mbg": 35, "date": EPOCH_2024}]).encode()
    assert [r.value_mg_dl for r in collect(data, now=NOW).readings] == [35]


def test_it_rejects_dexcom_egv_status_codes():
    header = (
        "Index,Timestamp (YYYY-MM-DDThh:mm:ss),Event Type,Event Subtype,Patient Info,"
        "Device Info,Source Device ID,Glucose Value (mg/dL)\n"
    )
    rows = "".join(
        f"{i},2024-01-01T00:{i * 5:02d}:00,EGV,,,,iPhone G6,{v}\n"
        for i, v in enumerate((120, 9, 119, 121, 122, 123))
    )
    result = collect((header + rows).encode(), now=NOW)
    assert [r.value_mg_dl for r in result.readings] == [120, 119, 121, 122, 123]
    assert [(e.line, "absolute deviation" in e.reason) for e in result.errors] == [(3, True)]


# --- 3. values outside the reporting range are flagged --------------------------------------


def test_it_flags_sensor_values_outside_the_reporting_range_and_keeps_marker_limits():
    header = (
        "Index,Timestamp (YYYY-MM-DDThh:mm:ss),Event Type,Event Subtype,Patient Info,"
        "Device Info,Source Device ID,Glucose Value (mg/dL)\n"
    )
    values = (120, 450, "High", "Low", 400, 40)
    rows = "".join(
        f"{i},2024-01-01T01:{i * 5:02d}:00,EGV,,,,iPhone G6,{v}\n" for i, v in enumerate(values)
    )
    result = collect((header + rows).encode(), now=NOW)
    assert [(r.value_mg_dl, r.flag) for r in result.readings] == [
        (120, ""),
        (450, "high"),
        (400, "high"),
        (40, "low"),
        (400, ""),
        (40, ""),
    ]


LIBRE_HEADER = (
    "Device,Serial Number,Device Timestamp,Record Type,Historic Glucose mg/dL,"
    "Scan Glucose mg/dL,Strip Glucose mg/dL\n"
)


def test_it_uses_the_libre_model_limit_for_flags_and_hi_markers():
    rows = (
        "FreeStyle Libre 3,AAA,01-02-2024 08:00 AM,0,450,,\n"
        "FreeStyle Libre 3,AAA,01-02-2024 08:15 AM,0,HI,,\n"
        "FreeStyle LibreLink,BBB,01-02-2024 08:30 AM,0,450,,\n"
        "FreeStyle LibreLink,BBB,01-02-2024 08:45 AM,0,HI,,\n"
        "FreeStyle LibreLink,BBB,01-02-2024 09:00 AM,2,,,520\n"
        "FreeStyle LibreLink,BBB,01-02-2024 09:15 AM,0,120,,\n"
    )
    result = collect((LIBRE_HEADER + rows).encode(), now=NOW)
    assert [(r.value_mg_dl, r.flag) for r in result.readings] == [
        (450, "high"),  # above Libre 3's 400
        (400, "high"),
        (450, ""),  # within 40..500
        (500, "high"),
        (520, ""),  # a strip (meter) value: not the sensor's range
        (120, ""),
    ]


# --- 2. strict JSON value types ------------------------------------------------------------


BAD_VALUES = [True, False, [120], {"v": 120}, "120", None]
# Nightscout reads a posted value with JavaScript's Number(): "120" is 120 there (README).
BAD_NIGHTSCOUT_VALUES = [True, False, [120], {"v": 120}, "abc", "", "0x78", None]


@pytest.mark.parametrize(
    "bad", [*BAD_NIGHTSCOUT_VALUES, math.nan, math.inf, -math.inf, 10**400, 1e300, -120]
)
def test_it_rejects_a_nightscout_sgv_of_the_wrong_type_and_keeps_the_good_entry(bad):
    entries = [
        {"type": "sgv", "sgv": bad, "date": EPOCH_2024},
        {"type": "sgv", "sgv": 120, "date": EPOCH_2024 + 300_000},
    ]
    text = json.dumps(entries, allow_nan=True) if bad != 10**400 else _big_int(entries)
    result = collect(text.encode(), now=NOW)
    assert [r.value_mg_dl for r in result.readings] == [120]
    assert [e.line for e in result.errors] == [1]


def _big_int(entries) -> str:
    entries[0]["sgv"] = "BIG"
    return json.dumps(entries).replace('"BIG"', "1" + "0" * 400)


@pytest.mark.parametrize(
    "date, reason",
    [
        (True, "not a number"),
        ("1704067200000", "not a number"),
        ([1], "not a number"),
        (1e20, "not a plausible date"),
        (-1e20, "not a plausible date"),
        (math.nan, "not a finite number"),
        (-86_400_000, "before 1970"),
        (4_102_444_800_000, "in the future"),  # 2100
    ],
)
def test_it_rejects_a_nightscout_date_that_is_no_time(date, reason):
    entries = [
        {"type": "sgv", "sgv": 100, "date": date},
        {"type": "sgv", "sgv": 120, "date": EPOCH_2024},
    ]
    result = collect(json.dumps(entries).encode(), now=NOW)
    assert [r.value_mg_dl for r in result.readings] == [120]
    assert len(result.errors) == 1 and reason in result.errors[0].reason


@pytest.mark.parametrize("text", ["0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-05:00"])
def test_it_rejects_year_1_and_9999_in_every_json_format(text):
    nightscout = [
        {"type": "sgv", "sgv": 100, "dateString": text},
        {"type": "sgv", "sgv": 120, "date": EPOCH_2024},
    ]
    tidepool = [
        {"type": "cbg", "value": 5.5, "units": "mmol/L", "time": text},
        {"type": "cbg", "value": 6.5, "units": "mmol/L", "time": "2024-01-01T00:00:00Z"},
    ]
    fhir = {"resourceType": "Bundle", "entry": [_observation(text, 5.5), _observation(None, 6.5)]}
    for doc in (nightscout, tidepool, fhir):
        result = collect(json.dumps(doc).encode(), now=NOW)
        assert len(result.readings) == 1, doc
        assert len(result.errors) == 1 and result.errors[0].line == 1, result.errors


def _observation(effective, value, code="99504-3", unit="mmol/L"):
    return {
        "resource": {
            "resourceType": "Observation",
            "status": "final",
            "code": {"coding": [{"system": "http://loinc.org", "code": code}]},
            "effectiveDateTime": effective or "2024-01-01T00:00:00Z",
            "valueQuantity": {"value": value, "unit": unit, "code": unit},
        }
    }


@pytest.mark.parametrize("bad", [*BAD_VALUES, "NaN"])
def test_it_rejects_tidepool_and_fhir_values_of_the_wrong_type(bad):
    tidepool = [
        {"type": "cbg", "value": bad, "units": "mg/dL", "time": "2024-01-01T00:00:00Z"},
        {"type": "bolus", "normal": bad, "time": "2024-01-01T00:00:00Z"},
        {"type": "wizard", "carbInput": bad, "time": "2024-01-01T00:00:00Z"},
        {"type": "food", "nutrition": {"carbohydrate": {"net": bad}}, "time": "2024-01-01T00:00Z"},
        {"type": "cbg", "value": 120, "units": "mg/dL", "time": "2024-01-01T00:05:00Z"},
    ]
    result = collect(json.dumps(tidepool).encode(), now=NOW)
    assert [r.value_mg_dl for r in result.readings] == [120]
    assert result.treatments == [] or bad is None
    fhir = {"resourceType": "Bundle", "entry": [_observation(None, bad), _observation(None, 6.5)]}
    result = collect(json.dumps(fhir).encode(), now=NOW)
    assert [r.value_mg_dl for r in result.readings] == [117]
    assert [e.line for e in result.errors] == [1]


@pytest.mark.parametrize(
    "mangled",
    [
        {"code": [1, 2]},
        {"code": {"coding": 5}},
        {"code": {"coding": [{"code": ["99504-3"]}]}},
        {"valueQuantity": [5]},
        {"effectivePeriod": [1]},
        {"device": "x"},
    ],
)
def test_it_never_raises_on_fhir_fields_of_the_wrong_shape(mangled):
    entry = _observation(None, 5.5)
    entry["resource"].update(mangled)
    doc = {"resourceType": "Bundle", "entry": [entry, _observation("2024-01-01T00:05Z", 6.5)]}
    result = collect(json.dumps(doc).encode(), now=NOW)
    assert 117 in [r.value_mg_dl for r in result.readings]


def test_it_never_raises_on_tidepool_fields_of_the_wrong_shape():
    records = [
        {"type": "cbg", "value": 120, "units": "mg/dL", "time": 5},
        {"type": "cbg", "value": 6.0, "units": ["mg/dL"], "time": "2024-01-01T00:00Z"},
        {"type": "cbg", "value": 6.0, "annotations": 7, "time": "2024-01-01T00:05Z"},
        {"type": "food", "nutrition": [1], "time": "2024-01-01T00:05Z"},
        {"type": "cbg", "value": 6.5, "units": "mmol/L", "time": "2024-01-01T00:10Z"},
    ]
    result = collect(json.dumps(records).encode(), now=NOW)
    assert [e.line for e in result.errors] == [1]
    assert result.readings[-1].value_mg_dl == 117


# --- 7. legacy CareLink dates are month-first ------------------------------------------------

LEGACY_AMBIGUOUS = (
    "Medtronic Diabetes CareLink Personal Data Export File (v1.0.1) \n"
    "PATIENT INFO\n"
    "Name,Test Patient\n"
    "Report Range,4/11/15,to,4/12/15\n"
    "DEVICE INFO\n"
    "Pump:,Paradigm Revel - 723,#222222,\n"
    "{exported}"
    "Index,Date,Time,Timestamp,New Device Time,BG Reading (mg/dL),Bolus Volume Delivered (U),"
    "BWZ Carb Input (grams),Sensor Glucose (mg/dL),ISIG Value,Raw-Type\n"
    "1,4/11/15,13:59:37,4/11/15 13:59:37,,,,,120,20.1,GlucoseSensorData\n"
    "2,4/12/15,14:04:37,4/12/15 14:04:37,,,,,122,20.3,GlucoseSensorData\n"
)


@pytest.mark.parametrize("exported", ["Data Exported on,4/12/15 8:21 PM\n", ""])
def test_it_reads_ambiguous_legacy_carelink_dates_month_first(exported):
    result = collect(LEGACY_AMBIGUOUS.format(exported=exported).encode(), timezone="UTC", now=NOW)
    assert [r.timestamp.isoformat() for r in result.readings] == [
        "2015-04-11T13:59:37+00:00",
        "2015-04-12T14:04:37+00:00",
    ]


def test_it_reads_the_real_legacy_export_in_april():
    path = SHARED_DATA / (
        "medtronic_carelink/decoding-carelink__CareLink-Export-1428895306376_legacyUS.csv"
    )
    if not path.exists():
        pytest.skip(f"GPL sample not shipped with the repo; absent at {path}")
    result = collect(path, timezone="America/Los_Angeles", now=NOW)
    cgm = result.of("cgm")
    assert len(cgm) == 245
    # "Data Range,4/11/15 00:00:00,to,4/12/15 20:12:54" in Los Angeles (PDT, -07:00).
    assert min(r.timestamp for r in cgm) >= datetime(2015, 4, 11, 7, tzinfo=UTC)
    assert max(r.timestamp for r in cgm) <= datetime(2015, 4, 13, 3, 13, tzinfo=UTC)


# --- 11. bounded failure -------------------------------------------------------------------


def test_it_lists_the_first_row_errors_and_counts_the_rest_by_reason():
    good = "".join(f"2024-01-01T00:00:00Z,{100 + i % 50},mg/dL\n" for i in range(2000))
    bad = "".join(f"2024-01-02T00:00:00Z,abc{i},mg/dL\n" for i in range(1500))
    result = collect(("timestamp,value,unit\n" + good + bad).encode(), now=NOW)
    assert len(result.readings) == 2000
    assert len(result.errors) == MAX_LISTED_ROW_ERRORS
    assert result.errors[0].reason == "glucose value 'abc0' is not a number"
    assert any(w.startswith("500 more rows rejected") for w in result.warnings), result.warnings


def test_it_stops_early_on_a_file_that_is_mostly_junk():
    junk = "".join(f"2024-01-02T00:00:00Z,x{i},mg/dL\n" for i in range(200_000))
    data = ("timestamp,value,unit\n2024-01-01T00:00:00Z,120,mg/dL\n" + junk).encode()
    with pytest.raises(UnreadableFile, match="rows rejected and only 1 imported"):
        collect(data, now=NOW)


# --- issue #17 §5: no CGM reports a number below 40 mg/dL ----------------------------------

BELOW_CGM = "below any CGM's reporting range"
DEXCOM_HEADER = (
    "Index,Timestamp (YYYY-MM-DDThh:mm:ss),Event Type,Event Subtype,Patient Info,"
    "Device Info,Source Device ID,Glucose Value (mg/dL)\n"
)
CARELINK = (
    "Medtronic Diabetes CareLink Personal Data Export File (v1.0.1) \n"
    "Pump:,Paradigm Revel - 723,#222222,\n"
    "Index,Date,Time,Timestamp,New Device Time,BG Reading (mg/dL),Bolus Volume Delivered (U),"
    "BWZ Carb Input (grams),Sensor Glucose (mg/dL),ISIG Value,Raw-Type\n"
    "1,1/2/24,08:00:00,1/2/24 08:00:00,,,,,30,20.1,GlucoseSensorData\n"
    "2,1/2/24,08:05:00,1/2/24 08:05:00,,,,,120,20.1,GlucoseSensorData\n"
    "3,1/2/24,08:10:00,1/2/24 08:10:00,,30,,,,,BGReceived\n"
)


def _errors_below_cgm(result) -> list[int]:
    return [e.line for e in result.errors if BELOW_CGM in e.reason]


@pytest.mark.parametrize(
    "data, lines, kept",
    [
        (  # Dexcom: a number below 40 is no EGV; "Low" is the receiver's marker
            DEXCOM_HEADER
            + "1,2024-01-01T01:00:00,EGV,,,,iPhone G6,35\n"
            + "2,2024-01-01T01:05:00,EGV,,,,iPhone G6,Low\n"
            + "3,2024-01-01T01:10:00,EGV,,,,iPhone G6,13\n",
            [2, 4],
            [("cgm", 40, "low")],
        ),
        (  # Libre: historic and scan below 40 are rejected, LO is the marker, strips are kept
            LIBRE_HEADER
            + "FreeStyle LibreLink,BBB,01-02-2024 08:00 AM,0,30,,\n"
            + "FreeStyle LibreLink,BBB,01-02-2024 08:15 AM,0,LO,,\n"
            + "FreeStyle LibreLink,BBB,01-02-2024 08:20 AM,1,,39,\n"
            + "FreeStyle LibreLink,BBB,01-02-2024 08:30 AM,2,,,30\n",
            [2, 4],
            [("cgm", 40, "low"), ("smbg", 30, "")],
        ),
        (CARELINK, [4], [("cgm", 120, ""), ("smbg", 30, "")]),
        (  # our plain CSV, mmol/L too (2.1 mmol/L = 38 mg/dL)
            "timestamp,value,unit,kind\n"
            "2024-01-01T00:00:00Z,2.1,mmol/L,cgm\n"
            "2024-01-01T00:05:00Z,LO,mmol/L,cgm\n"
            "2024-01-01T00:10:00Z,1.9,mmol/L,smbg\n"
            "2024-01-01T00:15:00Z,5.5,mmol/L,cgm\n"
            "2024-01-01T00:20:00Z,6.1,mmol/L,cgm\n"
            "2024-01-01T00:25:00Z,7.3,mmol/L,cgm\n",
            [2],
            [("cgm", 40, "low"), ("smbg", 34, ""), ("cgm", 99, ""), ("cgm", 110, "")]
            + [("cgm", 132, "")],
        ),
    ],
)
def test_it_rejects_sensor_numbers_below_40_in_device_files(data, lines, kept):
    result = collect(data.encode(), now=NOW, timezone="UTC")
    assert _errors_below_cgm(result) == lines, result.errors
    assert [(r.kind, r.value_mg_dl, r.flag) for r in result.readings] == kept


def test_it_rejects_nightscout_sgv_below_40_and_reads_dexcoms_39_as_low():
    entries = [
        {"type": "sgv", "sgv": 35, "date": EPOCH_2024},
        {"type": "sgv", "sgv": 39, "date": EPOCH_2024 + 300_000, "device": "xDrip-LibreReceiver"},
        {"type": "sgv", "sgv": 39, "date": EPOCH_2024 + 600_000},  # no device: Dexcom's LOW
        {"type": "sgv", "sgv": 401, "date": EPOCH_2024 + 900_000, "device": "dexcom"},
        {"type": "sgv", "sgv": "120", "date": EPOCH_2024 + 1_200_000},
        {"type": "mbg", "mbg": 35, "date": EPOCH_2024 + 1_500_000},
    ]
    result = collect(json.dumps(entries).encode(), now=NOW)
    assert _errors_below_cgm(result) == [1, 2]
    assert [(r.kind, r.value_mg_dl, r.flag) for r in result.readings] == [
        ("cgm", 40, "low"),
        ("cgm", 400, "high"),
        ("cgm", 120, ""),
        ("smbg", 35, ""),
    ]


def test_it_rejects_fhir_cgm_values_below_40():
    doc = {
        "resourceType": "Bundle",
        "entry": [_observation(None, 2.0), _observation("2024-01-01T00:05Z", 6.5)],
    }
    result = collect(json.dumps(doc).encode(), now=NOW)
    assert _errors_below_cgm(result) == [1]
    assert [r.value_mg_dl for r in result.readings] == [117]
