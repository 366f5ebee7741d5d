"""Issue #11 on the ingest path: one reading per instant, bounded rejections, plausible time."""

import datetime as dt

import pytest

from readings import services
from readings.models import DailyRollup, Device, Reading, Upload
from readings.services import upload_create, upload_process
from tests.readings.helpers import DEVICES, plain_csv
from workspace.metrics_api import patient_metrics

SUGAR = DEVICES / "dexcom_clarity" / "sugar-sugar__example.csv"


def imported(patient, data, name="export.csv", **options) -> Upload:
    upload = upload_create(patient=patient, by=None, file=data, filename=name, **options)
    return upload_process(upload_id=upload.pk)


def rollup_count(patient, kind="cgm") -> int:
    return sum(
        DailyRollup.objects.filter(patient=patient, kind=kind).values_list("count", flat=True)
    )


def test_it_stores_a_dexcom_file_split_in_two_once(patient):
    patient.timezone = "Europe/Bucharest"  # the owner's zone (its fall-back night is in it)
    patient.save()
    lines = SUGAR.read_bytes().decode("utf-8-sig").splitlines()
    first_data = next(i for i, line in enumerate(lines) if ",EGV," in line)
    header, data = lines[:first_data], lines[first_data:]
    without_device = [line for line in header if ",Device," not in line]
    part_one = "\n".join(header + data[: len(data) * 2 // 3]) + "\n"
    part_two = "\n".join(without_device + data[len(data) // 3 :]) + "\n"
    imported(patient, part_one.encode(), "part1.csv")
    imported(patient, part_two.encode(), "part2.csv")
    cgm = Reading.objects.filter(patient=patient, kind="cgm").count()
    assert cgm == 3913  # what the whole file holds (tests/readings/test_services.py)
    assert rollup_count(patient) == 3913
    assert Device.objects.filter(patient=patient).count() == 1  # one identity across files
    metrics = patient_metrics(patient, start="2019-10-01", end="2019-11-30")
    assert metrics["readings"] == 3913


def test_it_keeps_the_first_reading_when_two_devices_share_an_instant(patient):
    start = dt.datetime(2024, 5, 1, 8, tzinfo=dt.UTC)
    first = plain_csv(start, 12, value=120)
    second = plain_csv(start, 12, value=150).replace(b"G7 test", b"Libre 3")
    imported(patient, first)
    upload = imported(patient, second)
    assert upload.accepted == 0
    assert upload.rejected_total == 12  # a different value at a stored instant is a conflict
    assert set(Reading.objects.values_list("value_mg_dl", flat=True)) == {120.0}
    assert rollup_count(patient) == 12


def test_it_keeps_the_first_rejected_rows_and_counts_all(patient, monkeypatch):
    monkeypatch.setattr(services.ingest, "REJECTED_KEPT", 5)
    monkeypatch.setattr(
        services.readings_ingest,
        "__kwdefaults__",
        {**services.readings_ingest.__kwdefaults__, "rejected_limit": 5},
    )
    start = dt.datetime(2024, 5, 1, 8, tzinfo=dt.UTC)
    upload = imported(patient, plain_csv(start, 40, bad=range(0, 40, 2)))
    assert upload.accepted == 20
    assert len(upload.rejected) == 5 and upload.rejected[0]["line"] == 2
    assert upload.rejected_total == 20
    assert sum(upload.rejected_by_reason.values()) == 20
    assert upload.summary()["rejected_total"] == 20


def test_it_stops_early_on_a_file_that_is_only_junk(patient, monkeypatch):
    monkeypatch.setattr(services.ingest, "JUNK_ROWS", 100)
    monkeypatch.setattr(
        services.readings_ingest,
        "__kwdefaults__",
        {**services.readings_ingest.__kwdefaults__, "chunk_size": 50},
    )
    junk = b"timestamp,value,unit,kind,device\n" + b"yesterday,120,mg/dL,cgm,x\n" * 400
    upload = imported(patient, junk)
    assert upload.status == Upload.Status.FAILED
    assert "stopped after 100 rows" in upload.error
    assert not Reading.objects.exists()


def test_it_rejects_a_reading_dated_2030_and_warns(patient):
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    recent = plain_csv(now - dt.timedelta(days=2), 24)
    future = b"2030-01-01T00:00:00+00:00,180,mg/dL,cgm,G7 test\n"
    upload = imported(patient, recent + future)
    assert upload.accepted == 24
    assert [row["line"] for row in upload.rejected] == [26]
    assert "future" in upload.rejected[0]["reason"]
    assert any("future" in warning for warning in upload.warnings)
    assert patient_metrics(patient)["end"] <= now.date().isoformat()


@pytest.mark.parametrize("year", [2030, 9999])
def test_it_keeps_the_default_window_on_real_data_when_a_future_reading_is_stored(patient, year):
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    imported(patient, plain_csv(now - dt.timedelta(days=1), 24))
    Reading.objects.create(  # stored before the rule existed
        patient=patient,
        device=Reading.objects.first().device,
        timestamp=dt.datetime(year, 1, 1, tzinfo=dt.UTC),
        value_mg_dl=300,
        kind="cgm",
    )
    metrics = patient_metrics(patient)
    assert metrics["end"] <= now.date().isoformat()
    assert metrics["readings"] == 24


def test_it_rejects_every_cgm_record_below_40_whatever_built_it(patient):
    # Issue #17 §5: the write path holds the rule too, so a record no parser built (the
    # demo seeder, a future importer) cannot store a sensor number below 40 mg/dL either.
    from django.db import transaction

    from readings.parsers import Reading as Parsed

    start = dt.datetime(2024, 5, 1, 8, tzinfo=dt.UTC)
    items = [
        Parsed(1, start, 25.0, "cgm", "G7", "low"),  # flagged or not, 25 is no CGM value
        Parsed(2, start + dt.timedelta(minutes=5), 39.5, "cgm", "G7"),
        Parsed(3, start + dt.timedelta(minutes=10), 30.0, "scan", "Libre 2"),
        Parsed(4, start + dt.timedelta(minutes=15), 40.0, "cgm", "G7", "low"),  # a LO marker
        Parsed(5, start + dt.timedelta(minutes=20), 30.0, "smbg", "Contour"),
        Parsed(6, start + dt.timedelta(minutes=25), 30.0, "calibration", "Contour"),
    ]
    with transaction.atomic():
        result = services.readings_ingest(patient=patient, items=items)
    assert [row["line"] for row in result.rejected] == [1, 2, 3]
    assert all("below any CGM's reporting range" in row["reason"] for row in result.rejected)
    assert sorted(Reading.objects.values_list("kind", "value_mg_dl", "flag")) == [
        ("calibration", 30.0, ""),
        ("cgm", 40.0, "low"),
        ("smbg", 30.0, ""),
    ]


@pytest.mark.parametrize("newest_first", [False, True])
def test_it_stores_a_carelink_export_across_spring_forward_whatever_its_row_order(
    patient, newest_first
):
    # Issue #17 §5: the pump clock left on winter time across the spring-forward night; 73
    # readings every 5 minutes from 01:00, newest first as CareLink writes them (61 were
    # stored, 12 "already stored") or oldest first (73).
    from tests.readings.parsers.test_dst import _carelink, _carelink_walls

    patient.timezone = "Europe/Berlin"
    patient.save()
    walls = _carelink_walls(dt.datetime(2014, 3, 30), 73, None)
    upload = imported(patient, _carelink(walls, newest_first), name="carelink.csv")
    assert (upload.accepted, upload.duplicates, upload.rejected) == (73, 0, [])
    stamps = sorted(Reading.objects.filter(patient=patient).values_list("timestamp", flat=True))
    assert stamps[0] == dt.datetime(2014, 3, 30, 0, 0, tzinfo=dt.UTC)  # 01:00 CET
    assert {b - a for a, b in zip(stamps, stamps[1:], strict=False)} == {dt.timedelta(minutes=5)}


@pytest.mark.skipif(
    services.uploads.connection.vendor != "sqlite", reason="SQLite's chunked import"
)
def test_a_chunked_import_commits_short_chunks_and_refreshes_triage_once(patient, monkeypatch):
    """#23 §3: on SQLite each chunk is its own short write transaction, and the triage entry
    is refreshed once after the last, not inside every chunk's transaction."""
    from readings.signals import readings_changed
    from workspace.models import TriageEntry

    monkeypatch.setattr(services.uploads, "SQLITE_CHUNK_SIZE", 10)
    commits, sent = [], []
    real_ingest = services.uploads.readings_ingest

    def counting_ingest(**kwargs):
        commits.append(len(kwargs["items"]))
        return real_ingest(**kwargs)

    monkeypatch.setattr(services.uploads, "readings_ingest", counting_ingest)

    def receiver(sender, patient_id, **kwargs):
        sent.append(patient_id)

    readings_changed.connect(receiver, dispatch_uid="test_chunked_once")
    try:
        upload = imported(patient, plain_csv(dt.datetime.now(dt.UTC) - dt.timedelta(days=1), 35))
    finally:
        readings_changed.disconnect(dispatch_uid="test_chunked_once")
    assert upload.status == Upload.Status.DONE and upload.accepted == 35
    assert commits == [10, 10, 10, 5]
    assert sent == [patient.pk]
    assert TriageEntry.objects.get(pk=patient.pk).readings == 35
