import json

import pytest
from django.core.management import CommandError, call_command

from readings.models import Reading
from tests.readings.helpers import DEVICES, DEXCOM


def run(*args) -> list[dict]:
    from io import StringIO

    out = StringIO()
    call_command("import_readings", *args, stdout=out, stderr=StringIO())
    return [json.loads(line) for line in out.getvalue().splitlines()]


def test_it_prints_one_json_object_per_file(patient):
    tiny = DEVICES / "libreview" / "glyco__tiny_sample_mmol_EU.csv"
    rows = run("--patient", patient.mrn, "--json", str(DEXCOM), str(tiny))
    assert [r["format"] for r in rows] == ["dexcom", "libreview"]
    assert rows[0] == {
        "file": str(DEXCOM),
        "format": "dexcom",
        "accepted": 2148,
        "duplicates": 0,
        "rejected": [],
        "rejected_total": 0,
        "rejected_by_reason": {},
        "warnings": [],
    }
    assert rows[1]["accepted"] == 6
    assert Reading.objects.filter(patient=patient).count() == 2154


def test_it_counts_a_second_import_as_duplicates(patient):
    run("--patient", patient.mrn, "--json", str(DEXCOM))
    (again,) = run("--patient", patient.mrn, "--json", str(DEXCOM))
    assert again["accepted"] == 0 and again["duplicates"] == 2148


def test_it_prints_a_human_summary_without_json(patient, capsys):
    from io import StringIO

    out = StringIO()
    call_command("import_readings", "--patient", patient.mrn, str(DEXCOM), stdout=out)
    assert "2148 accepted, 0 duplicates, 0 rejected" in out.getvalue()


def test_it_exits_non_zero_only_for_an_unreadable_file(patient, tmp_path):
    junk = tmp_path / "junk.csv"
    junk.write_bytes(b"hello,world\n1,2\n")
    with pytest.raises(CommandError):
        run("--patient", patient.mrn, "--json", str(DEXCOM), str(junk))
    assert Reading.objects.filter(patient=patient).count() == 2148


def test_it_refuses_an_unknown_patient(db):
    with pytest.raises(CommandError, match="MRN"):
        run("--patient", "NOPE", str(DEXCOM))


def test_it_honours_format_and_timezone(patient):
    (row,) = run(
        "--patient",
        patient.mrn,
        "--json",
        "--format",
        "dexcom",
        "--timezone",
        "Asia/Tokyo",
        str(DEXCOM),
    )
    assert row["accepted"] == 2148
    first = Reading.objects.filter(patient=patient).order_by("timestamp").first()
    # 2016-10-24 11:24 in Tokyo is 02:24 UTC
    assert (first.timestamp.hour, first.timestamp.minute) == (2, 24)


def test_it_warns_and_rejects_a_reading_in_the_future(patient, tmp_path):
    path = tmp_path / "future.csv"
    path.write_text(
        "timestamp,value,unit,kind,device\n"
        "2024-05-01T08:00:00+00:00,120,mg/dL,cgm,G7\n"
        "2030-01-01T00:00:00+00:00,180,mg/dL,cgm,G7\n"
    )
    (row,) = run("--patient", patient.mrn, "--json", str(path))
    assert row["accepted"] == 1
    assert row["rejected"][0]["line"] == 3 and "future" in row["rejected"][0]["reason"]
    assert any("future" in warning for warning in row["warnings"])
