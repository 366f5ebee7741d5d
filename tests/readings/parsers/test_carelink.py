import statistics

import pytest

from .helpers import FIXTURES, SHARED_DATA, collect

EU = FIXTURES / "medtronic_carelink/cgm_format__medtronics_test_livia_GuardianConnect_EU.csv"
LEGACY_GPL = (
    SHARED_DATA / "medtronic_carelink/decoding-carelink__CareLink-Export-1428895306376_legacyUS.csv"
)


def test_it_reads_the_current_european_layout():
    result = collect(EU, timezone="Europe/Bucharest")
    assert result.format == "carelink"
    cgm = result.of("cgm")
    assert len(cgm) == 22149
    assert round(statistics.mean(r.value_mg_dl for r in cgm), 1) == 121.2
    assert {r.device for r in cgm} == {"Guardian Connect GCZ7PA-UYGI-AZWP-LWF1"}
    # Newest first: line 2758 is 2021/07/25 00:32:50 local (EEST, +03:00).
    first = cgm[0]
    assert (first.line, first.value_mg_dl) == (2758, 55)
    assert first.timestamp.isoformat() == "2021-07-24T21:32:50+00:00"
    assert len(result.of("smbg")) == 255
    assert result.errors == []


LEGACY_SYNTHETIC = (
    "Medtronic Diabetes CareLink Personal Data Export File (v1.0.1) \n"
    "PATIENT INFO\n"
    "Name,Test Patient\n"
    "Report Range,3/30/19,to,3/31/19\n"
    "DEVICE INFO\n"
    "Meter:,Contour Link,#111111,\n"
    "Pump:,Paradigm Revel - 723,#222222,\n"
    'Sensor:,In use," ",\n'
    "Data Exported on,4/1/19 8:21 PM\n"
    "DEVICE DATA (7 records)\n"
    "Data Range,3/30/19 00:00:00,to,3/31/19 23:59:59\n"
    "Index,Date,Time,Timestamp,New Device Time,BG Reading (mg/dL),Linked BG Meter ID,"
    "Bolus Type,Bolus Volume Selected (U),Bolus Volume Delivered (U),BWZ Carb Input (grams),"
    "Alarm,Sensor Calibration BG (mg/dL),Sensor Glucose (mg/dL),ISIG Value,Raw-Type,Raw-Values\n"
    '1,3/31/19,02:50:00,3/31/19 02:50:00,,,,,,,,,,120,20.1,GlucoseSensorData,"AMOUNT=120, X=1"\n'
    '2,3/31/19,02:55:00,3/31/19 02:55:00,,,,,,,,,,122,20.3,GlucoseSensorData,"AMOUNT=122"\n'
    '3,3/31/19,04:00:00,3/31/19 04:00:00,,,,,,,,,,124,20.5,GlucoseSensorData,"AMOUNT=124"\n'
    '4,3/31/19,04:05:00,3/31/19 04:05:00,,136,#111111,,,,,,,,,BGReceived,"AMOUNT=136"\n'
    '5,3/31/19,04:06:00,3/31/19 04:06:00,,,,,,,,,136,,,CalBGForPH,"AMOUNT=136"\n'
    '6,3/31/19,04:07:00,3/31/19 04:07:00,,,,Normal,4.5,4.5,45,,,,,BolusNormal,"AMOUNT=4.5"\n'
    '7,3/31/19,04:10:00,3/31/19 04:10:00,,,,,,,,,,HIGH,,GlucoseSensorData,""\n'
)


def test_it_reads_a_legacy_layout_and_a_spring_forward_gap():
    result = collect(LEGACY_SYNTHETIC.encode(), timezone="Europe/Bucharest")
    assert result.format == "carelink"
    assert [(r.kind, r.value_mg_dl, r.flag) for r in result.readings] == [
        ("cgm", 120, ""),
        ("cgm", 122, ""),
        ("cgm", 124, ""),
        ("smbg", 136, ""),
        ("calibration", 136, ""),
        ("cgm", 400, "high"),
    ]
    assert {r.device for r in result.readings} == {"Paradigm Revel - 723 #222222"}
    stamps = [r.timestamp.isoformat() for r in result.readings[:3]]
    # 2019-03-31 03:00 -> 04:00 in Bucharest: 02:50/02:55 are EET (+02), 04:00 is EEST (+03).
    assert stamps == [
        "2019-03-31T00:50:00+00:00",
        "2019-03-31T00:55:00+00:00",
        "2019-03-31T01:00:00+00:00",
    ]
    assert [(t.kind, t.amount) for t in result.treatments] == [
        ("insulin_rapid", 4.5),
        ("carbs", 45),
    ]


def test_it_reads_the_real_gpl_legacy_export_when_present():
    if not LEGACY_GPL.exists():
        pytest.skip(f"GPL sample not shipped with the repo; absent at {LEGACY_GPL}")
    result = collect(LEGACY_GPL, timezone="America/Los_Angeles")
    assert result.format == "carelink"
    cgm = result.of("cgm")
    assert len(cgm) == 245
    assert round(statistics.mean(r.value_mg_dl for r in cgm), 1) == 97.1
    assert result.errors == []
