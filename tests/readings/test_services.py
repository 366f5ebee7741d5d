import contextlib
import datetime as dt
import threading
import time

import pytest
from django.db import connection, connections

from glycemia.rollups import ROLLUP_FIELDS
from readings import services
from readings.models import DailyRollup, Reading, Treatment, Upload
from readings.services import rollups_rebuild, upload_create, upload_process
from readings.tasks import process_upload
from tests.conftest import make_patient
from tests.readings.helpers import DEVICES, DEXCOM, plain_csv

START = dt.datetime(2024, 5, 1, tzinfo=dt.UTC)

# Counts per fixture file (tests/fixtures/devices/PROVENANCE.md; rows per the data README).
FIXTURES = [
    ("dexcom_clarity/cgmquantify__test_file.csv", "dexcom", {"cgm": 2148}),
    # Covers the EU fall-back night: in the owner's zone the repeated hour is two hours.
    ("dexcom_clarity/sugar-sugar__example.csv", "dexcom", {"cgm": 3913, "calibration": 9}),
    (
        "libreview/cgmr__Firstname1Lastname1_glucose_mgdl_US.csv",
        "libreview",
        {"cgm": 3562, "scan": 317},
    ),
    ("libreview/glyco__tiny_sample_mmol_EU.csv", "libreview", {"cgm": 6}),
    (
        "medtronic_carelink/cgm_format__medtronics_test_livia_GuardianConnect_EU.csv",
        "carelink",
        {"cgm": 22149, "smbg": 255},
    ),
    # 4 of its 1,000 sgv are 32-38 mg/dL: below any CGM's range, rejected (issue #17)
    ("nightscout/cgm_format__nightscout_entries.json", "nightscout", {"cgm": 996}),
    ("tidepool/sensotrend-converter__data_tandem_cbg.json", "tidepool", {"cgm": 637}),
    # LOINC 14745-4 every 5 min from a pump's CGM: a sensor series by cadence (issue #11).
    ("fhir/sensotrend-converter__bundle.json", "fhir", {"cgm": 637}),
]


def imported(patient, data, name="export.csv", **options) -> Upload:
    upload = upload_create(patient=patient, by=None, file=data, filename=name, **options)
    return upload_process(upload_id=upload.pk)


def kinds(patient) -> dict:
    counts: dict = {}
    for kind in Reading.objects.filter(patient=patient).values_list("kind", flat=True):
        counts[kind] = counts.get(kind, 0) + 1
    return counts


def rollup_rows(patient) -> dict:
    return {
        (r.date, r.kind): tuple(round(float(getattr(r, f) or 0), 6) for f in ROLLUP_FIELDS)
        for r in DailyRollup.objects.filter(patient=patient)
    }


@pytest.mark.parametrize(("path", "fmt", "expected"), FIXTURES)
def test_it_imports_each_fixture_file_with_its_counts(patient, path, fmt, expected):
    patient.timezone = "Europe/Bucharest"
    patient.save()
    upload = imported(patient, (DEVICES / path).read_bytes(), name=path.split("/")[-1])
    assert upload.status == Upload.Status.DONE and upload.format == fmt
    assert kinds(patient) == expected
    assert upload.accepted == sum(expected.values())
    below_cgm = [246, 247, 248, 249] if fmt == "nightscout" else []
    assert [row["line"] for row in upload.rejected] == below_cgm


def test_it_adds_nothing_when_the_same_file_comes_again(patient):
    first = imported(patient, DEXCOM.read_bytes())
    again = imported(patient, DEXCOM.read_bytes())
    assert (first.accepted, first.duplicates) == (2148, 0)
    assert (again.accepted, again.duplicates) == (0, 2148)
    assert Reading.objects.filter(patient=patient).count() == 2148


def test_it_adds_only_the_new_part_of_an_overlapping_file(patient):
    imported(patient, plain_csv(START, 288))
    later = imported(patient, plain_csv(START + dt.timedelta(hours=12), 288))
    assert (later.accepted, later.duplicates) == (144, 144)
    assert Reading.objects.filter(patient=patient).count() == 432


def test_it_imports_every_good_row_and_lists_every_bad_one(patient):
    upload = imported(patient, plain_csv(START, 100, bad={3, 50, 99}))
    assert upload.accepted == 97
    assert [row["line"] for row in upload.rejected] == [5, 52, 101]  # header is line 1
    assert all("impossible" in row["reason"] for row in upload.rejected)


def test_it_changes_nothing_for_an_unreadable_file_and_says_why(patient):
    upload = imported(patient, b"\x00\x01\x02 not an export at all")
    assert upload.status == Upload.Status.FAILED and upload.error
    assert not Reading.objects.exists() and not DailyRollup.objects.exists()


@pytest.mark.parametrize(
    "crashing", ["_fold_into_rollups", "_sorted"], ids=["after-a-copy", "inside-a-copy"]
)
def test_it_rolls_back_everything_when_it_crashes_mid_file(patient, monkeypatch, crashing):
    """Crashing after the first chunk was written: once its COPY had ended (one COPY per
    chunk), or while the COPY the first chunk went into is open (PostgreSQL)."""
    calls = {"n": 0}
    real = getattr(services.ingest, crashing)

    def crash_the_second_time(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 2:
            raise RuntimeError("disk on fire")
        return real(*args, **kwargs)

    monkeypatch.setattr(services.ingest, crashing, crash_the_second_time)
    monkeypatch.setattr(services.ingest, "COPY_STREAM_ROWS", 500)
    monkeypatch.setattr(services.uploads, "CHUNK_SIZE", 500)
    monkeypatch.setattr(
        services.readings_ingest,
        "__kwdefaults__",
        {**services.readings_ingest.__kwdefaults__, "chunk_size": 500},
    )
    upload = upload_create(patient=patient, by=None, file=DEXCOM.read_bytes(), filename="x.csv")
    with pytest.raises(RuntimeError):
        upload_process(upload_id=upload.pk)
    upload.refresh_from_db()
    assert calls["n"] == 2  # the first chunk had been written before the crash
    assert upload.status == Upload.Status.FAILED and upload.error
    assert upload.accepted == 0
    assert not Reading.objects.exists()
    assert not Treatment.objects.exists()
    assert not DailyRollup.objects.exists()


def test_it_keeps_rollups_equal_to_the_raw_readings(patient):
    patient.timezone = "Europe/Bucharest"
    patient.save()
    imported(patient, plain_csv(START, 600, value=lambda i: 40 + (i * 7) % 300))
    imported(patient, plain_csv(START + dt.timedelta(hours=20), 600, value=lambda i: 90 + i % 50))
    imported(patient, DEXCOM.read_bytes())
    imported(patient, plain_csv(START - dt.timedelta(hours=3), 100, value=55))
    incremental = rollup_rows(patient)
    rollups_rebuild(patient=patient)
    assert incremental == rollup_rows(patient)
    assert sum(r.count for r in DailyRollup.objects.filter(patient=patient, kind="cgm")) == (
        Reading.objects.filter(patient=patient, kind="cgm").count()
    )


def test_it_processes_an_upload_only_once(patient):
    upload = upload_create(patient=patient, by=None, file=DEXCOM.read_bytes(), filename="a.csv")
    process_upload(upload.pk)
    process_upload(upload.pk)  # a redelivered task finds the upload claimed
    upload.refresh_from_db()
    assert upload.status == Upload.Status.DONE and upload.accepted == 2148
    assert Reading.objects.count() == 2148


def test_it_reads_local_times_in_the_patients_zone(patient):
    patient.timezone = "America/New_York"
    patient.save()
    imported(patient, b"timestamp,value,unit\n2024-01-10T08:00:00,120,mg/dL\n")
    assert Reading.objects.get().timestamp == dt.datetime(2024, 1, 10, 13, tzinfo=dt.UTC)


@pytest.mark.django_db(transaction=True)
def test_it_stores_two_identical_concurrent_uploads_once(center, alice):
    patient = make_patient("MRNC", center=center, endocrinologists=[alice])
    data = plain_csv(START, 3000, value=lambda i: 60 + i % 200)
    uploads = [
        upload_create(patient=patient, by=None, file=data, filename=f"{n}.csv") for n in (1, 2)
    ]
    barrier = threading.Barrier(2)
    errors = []
    # SQLite serializes writers: a file database makes the second writer wait (busy timeout),
    # but the in-memory shared-cache test database answers "table is locked" at once, so the
    # wait is played by a lock here. PostgreSQL runs both truly at once.
    writer = threading.Lock() if connection.vendor == "sqlite" else contextlib.nullcontext()

    def work(upload_id):
        try:
            barrier.wait()
            with writer:
                upload_process(upload_id=upload_id)
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            connections.close_all()  # this thread's own connection

    threads = [threading.Thread(target=work, args=(u.pk,)) for u in uploads]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors, errors
    done = list(Upload.objects.filter(pk__in=[u.pk for u in uploads]))
    assert all(u.status == Upload.Status.DONE for u in done)
    assert sum(u.accepted for u in done) == 3000
    assert sum(u.duplicates for u in done) == 3000
    assert Reading.objects.filter(patient=patient).count() == 3000
    incremental = rollup_rows(patient)
    rollups_rebuild(patient=patient)
    assert incremental == rollup_rows(patient)
    assert connection.vendor in ("sqlite", "postgresql")


def test_it_recognises_a_repeat_down_to_the_microsecond(patient):
    data = b"timestamp,value,unit\n2024-05-01T08:00:00.123457Z,120,mg/dL\n"
    imported(patient, data)
    again = imported(patient, data)
    assert (again.accepted, again.duplicates) == (0, 1)
    assert Reading.objects.get().timestamp.microsecond == 123457


def test_it_counts_repeats_inside_one_file_once(patient):
    data = plain_csv(START, 10) + plain_csv(START, 10).split(b"\n", 1)[1]
    upload = imported(patient, data)
    assert (upload.accepted, upload.duplicates) == (10, 10)


def test_it_absorbs_stored_rows_in_any_chunk_of_a_file(patient):
    """New, already stored, new again: each chunk gets the right path and the right counts."""
    from django.db import transaction

    from readings.parsers import parse

    imported(patient, plain_csv(START + dt.timedelta(minutes=5 * 100), 100))  # rows 100-199
    parsed = parse(plain_csv(START, 300), timezone="UTC")
    with transaction.atomic():
        result = services.readings_ingest(patient=patient, items=parsed.items(), chunk_size=100)
    assert (result.accepted, result.duplicates, result.rejected) == (200, 100, [])
    assert Reading.objects.filter(patient=patient).count() == 300
    incremental = rollup_rows(patient)
    rollups_rebuild(patient=patient)
    assert incremental == rollup_rows(patient)


def test_it_reads_ahead_every_item_in_file_order():
    with services.uploads._parsed_ahead(iter(range(2500)), size=100) as items:
        assert list(items) == list(range(2500))


def test_it_raises_a_parser_error_after_the_chunks_before_it():
    def items():
        yield from range(250)
        raise ValueError("row 251 is broken")

    seen = []
    with pytest.raises(ValueError, match="row 251"):
        with services.uploads._parsed_ahead(items(), size=100) as ahead:
            seen.extend(ahead)
    assert seen == list(range(200))  # whole chunks before the error; the import stops there


def test_it_stops_reading_ahead_when_the_import_fails():
    produced = []

    def items():
        for n in range(100_000):
            produced.append(n)
            yield n

    with pytest.raises(RuntimeError):
        with services.uploads._parsed_ahead(items(), size=100) as ahead:
            next(ahead)
            raise RuntimeError("disk on fire")
    assert len(produced) <= 300  # the chunk being read, at most one ahead, and the one after
    assert not [t for t in threading.enumerate() if t.name == "upload-parser"]


def test_it_parses_no_further_after_the_early_rows_until_asked_for_more():
    """The early rows start the import's COPY (a device, a savepoint, the statement): the
    parser thread waits meanwhile instead of holding the interpreter (#23)."""
    produced = []

    def items():
        for n in range(1000):
            produced.append(n)
            yield n

    with services.uploads._parsed_ahead(items(), size=100, early=10) as ahead:
        head = [next(ahead) for _ in range(10)]
        time.sleep(0.05)  # the parser thread had time to read on
        assert len(produced) == 10
        assert head + list(ahead) == list(range(1000))


def test_it_finds_a_device_stored_since_the_import_read_the_patients_devices(patient):
    from readings.models import Device

    devices = services.inserts._Devices(patient.pk)
    stored = Device.objects.create(patient=patient, identity="Contour Next One", kind="meter")
    assert devices.id_for("Contour Next One", "cgm") == stored.pk
    assert devices.id_for("Dexcom G7", "cgm") != stored.pk
    assert sorted(Device.objects.filter(patient=patient).values_list("identity", "kind")) == [
        ("Contour Next One", "meter"),  # left as it was
        ("Dexcom G7", "cgm"),
    ]


def test_it_stores_every_field_of_mixed_readings_exactly(patient):
    """Devices, kinds, flags, meal tags, naive and offset instants, in-file repeats in one chunk."""
    from django.db import transaction

    from readings.parsers import Reading as Parsed

    plus_two = dt.timezone(dt.timedelta(hours=2))
    items = [
        Parsed(1, START, 120.0, "cgm", "Dexcom G7"),
        Parsed(2, START.replace(tzinfo=None) + dt.timedelta(minutes=5), 40.0, "cgm", "", "low"),
        Parsed(3, START.astimezone(plus_two), 121.0, "cgm", "Dexcom G7"),  # START again
        Parsed(4, START + dt.timedelta(microseconds=7), 99.5, "smbg", "Contour", "", "fasting"),
        Parsed(5, START + dt.timedelta(minutes=5), 40.0, "cgm", "", "low"),  # line 2 again
        Parsed(6, START + dt.timedelta(hours=1), 300.0, "calibration", "Dexcom G7", "high"),
    ]
    with transaction.atomic():
        result = services.readings_ingest(patient=patient, items=items)
    assert (result.accepted, result.duplicates) == (4, 1)
    assert [r["line"] for r in result.rejected] == [3]
    assert "120 mg/dL; 121 mg/dL ignored" in result.rejected[0]["reason"]
    stored = sorted(
        Reading.objects.filter(patient=patient).values_list(
            "timestamp", "value_mg_dl", "kind", "flag", "meal_tag", "device__identity", "upload"
        )
    )
    assert stored == [
        (START, 120.0, "cgm", "", "", "Dexcom G7", None),
        (START + dt.timedelta(microseconds=7), 99.5, "smbg", "", "fasting", "Contour", None),
        (START + dt.timedelta(minutes=5), 40.0, "cgm", "low", "", "", None),
        (START + dt.timedelta(hours=1), 300.0, "calibration", "high", "", "Dexcom G7", None),
    ]
    incremental = rollup_rows(patient)
    rollups_rebuild(patient=patient)
    assert incremental == rollup_rows(patient)


def test_it_keeps_readings_but_drops_the_link_when_an_upload_is_deleted(patient):
    # Reading.upload has no database constraint (bulk speed); the ORM still nulls the link.
    upload = imported(patient, DEXCOM.read_bytes())
    assert Reading.objects.filter(upload=upload).count() == 2148
    upload.delete()
    assert Reading.objects.filter(patient=patient, upload__isnull=True).count() == 2148


@pytest.mark.django_db(transaction=True)
def test_it_commits_each_chunk_on_sqlite_so_sign_ins_are_not_locked_out(patient, monkeypatch):
    """SQLite has one writer: a single transaction for a whole file would hold every sign-in
    until the import ends. Each chunk commits (on PostgreSQL the file is one transaction)."""
    from django.db import transaction as db_transaction

    commits, seen = [], []
    real = services.readings_ingest

    def ingest(**kwargs):
        seen.append(len(commits))
        db_transaction.on_commit(lambda: commits.append(1))
        return real(**kwargs)

    monkeypatch.setattr(services.uploads, "readings_ingest", ingest)
    monkeypatch.setattr(services.uploads, "CHUNK_SIZE", 500)
    upload = upload_create(patient=patient, by=None, file=DEXCOM.read_bytes(), filename="x.csv")
    upload_process(upload_id=upload.pk)
    upload.refresh_from_db()
    assert upload.status == Upload.Status.DONE and upload.accepted == 2148
    if connection.vendor == "sqlite":
        assert seen == list(range(len(seen))) and len(seen) >= 5  # committed before each next
    else:
        assert seen == [0]  # one transaction


def test_it_keeps_each_days_interval_in_the_rollups_through_a_sensor_switch(patient):
    # Issue #17 §5: 7 days of Dexcom (5 min) then 7 of Libre (15 min), posted in batches of
    # every size (a Libre day one reading at a time, as uploader apps post): each rollup day
    # keeps its own interval, so the rollups' active % is the hand-counted 92.97 %, as the
    # raw path's (one interval for the window gave 61.98 % and "insufficient data").
    from django.db import transaction

    from readings.parsers import Reading as Parsed
    from readings.windows import rollup_metrics
    from tests.glycemia.helpers import dexcom_then_libre
    from workspace.metrics_api import patient_metrics

    times, values, expected = dexcom_then_libre()
    items = [
        Parsed(
            n + 1,
            t.astype("datetime64[us]").item().replace(tzinfo=dt.UTC),
            float(v),
            "cgm",
            "Dexcom G7" if n < 7 * 268 else "Libre 2",
        )
        for n, (t, v) in enumerate(zip(times, values, strict=True))
    ]
    sizes = [500, 1376, 89, 1] + [1] * 88 + [445]
    start = 0
    for size in sizes:
        with transaction.atomic():
            services.readings_ingest(patient=patient, items=items[start : start + size])
        start += size
    assert start == len(items) == Reading.objects.count()
    intervals = list(
        DailyRollup.objects.filter(patient=patient)
        .order_by("date")
        .values_list("interval_minutes", flat=True)
    )
    assert intervals == [5] * 7 + [15] * 7
    first, last = dt.date(2024, 1, 1), dt.date(2024, 1, 14)
    rolled = rollup_metrics([patient.pk], start=first, end=last)[patient.pk]
    raw = patient_metrics(patient, start=first, end=last)
    assert rolled["active_percent"] == raw["active_percent"] == round(expected, 2)  # 92.97
    incremental = rollup_rows(patient)
    rollups_rebuild(patient=patient)
    assert rollup_rows(patient) == incremental
