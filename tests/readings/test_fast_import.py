"""The import of a file read by the Dexcom or plain CSV fast path (``ReadingBatch`` runs,
numpy COPY rows, wear of new days counted from memory; issue #23) stores exactly what the
general rules store: the same readings, devices, rollups and upload report — for a new
patient, a re-upload of the same file and an overlapping one, on SQLite and PostgreSQL."""

import random

import pytest

from glycemia.rollups import ROLLUP_FIELDS
from readings.models import DailyRollup, Reading, Upload
from readings.parsers import dexcom, plaincsv
from readings.services import upload_create, upload_process
from tests.conftest import make_patient
from tests.readings.parsers.test_dexcom_fast_path import ZONES, clarity
from tests.readings.parsers.test_plaincsv_fast_path import ZONES as CSV_ZONES
from tests.readings.parsers.test_plaincsv_fast_path import plain_csv

pytestmark = pytest.mark.django_db


def imported(patient, data: bytes, fast: bool) -> Upload:
    dexcom.FAST_PATH = fast
    try:
        upload = upload_create(patient=patient, by=None, file=data, filename="clarity.csv")
        return upload_process(upload_id=upload.pk)
    finally:
        dexcom.FAST_PATH = True


def stored(patient, upload: Upload) -> tuple:
    readings = sorted(
        Reading.objects.filter(patient=patient).values_list(
            "timestamp", "value_mg_dl", "kind", "flag", "meal_tag", "device__identity"
        )
    )
    rollups = sorted(
        DailyRollup.objects.filter(patient=patient).values_list(
            "date", "kind", *ROLLUP_FIELDS, "interval_minutes", "slots"
        )
    )
    report = (
        upload.status,
        upload.error,
        upload.format,
        upload.accepted,
        upload.duplicates,
        upload.rejected,
        upload.rejected_total,
        upload.rejected_by_reason,
        upload.treatments_count,
        upload.warnings,
    )
    return readings, rollups, report


@pytest.mark.parametrize(
    ("zone_start", "odd"), [(ZONES[0], 0.0), (ZONES[1], 0.01), (ZONES[2], 0.1)]
)
def test_a_fast_import_stores_what_the_general_rules_store(zone_start, odd):
    zone, start = zone_start
    rng = random.Random(11)
    first = clarity(rng, zone, start, 9000, odd, crash=False).encode("utf-8-sig")
    overlapping = clarity(random.Random(12), zone, start, 12000, odd, crash=False).encode(
        "utf-8-sig"
    )
    outcomes = []
    for fast in (True, False):
        patient = make_patient(f"FAST-{fast}", timezone=zone)
        steps = []
        for data in (first, first, overlapping):  # new, re-upload, overlap
            upload = imported(patient, data, fast)
            steps.append(stored(patient, upload))
        outcomes.append(steps)
    fast, general = outcomes
    assert fast == general
    assert fast[0][2][3] > 8000  # the file was imported, not refused


@pytest.mark.parametrize(
    ("zone_start", "odd"), [(ZONES[0], 0.0), (ZONES[1], 0.01), (ZONES[2], 0.1)]
)
def test_one_copy_for_many_chunks_stores_what_a_copy_per_chunk_stores(zone_start, odd, monkeypatch):
    """PostgreSQL writes the chunks of a new file into one COPY (``ingest._Stream``); with a
    COPY per chunk (a stream ended after each, as before) the same readings, devices, rollups
    and upload report come out — for a new patient, a re-upload (the COPY meets stored rows
    and its chunks are stored one by one) and an overlapping file."""
    from readings import services

    zone, start = zone_start
    first = clarity(random.Random(21), zone, start, 9000, odd, crash=False).encode("utf-8-sig")
    overlapping = clarity(random.Random(22), zone, start, 12000, odd, crash=False).encode(
        "utf-8-sig"
    )
    monkeypatch.setattr(
        services.readings_ingest,
        "__kwdefaults__",
        {**services.readings_ingest.__kwdefaults__, "chunk_size": 1000},
    )
    outcomes = []
    for stream_rows in (3500, 1):
        monkeypatch.setattr(services.ingest, "COPY_STREAM_ROWS", stream_rows)
        patient = make_patient(f"STREAM-{stream_rows}", timezone=zone)
        steps = []
        for data in (first, first, overlapping):  # new, re-upload, overlap
            upload = imported(patient, data, fast=True)
            steps.append(stored(patient, upload))
        outcomes.append(steps)
    streamed, per_chunk = outcomes
    assert streamed == per_chunk  # rollups too, to the last bit of every sum
    assert streamed[0][2][3] > 8000  # the file was imported, not refused


def test_a_row_refused_while_the_copy_is_written_falls_back_to_one_chunk_at_a_time(monkeypatch):
    """Should the server refuse a row while a chunk is still being written into the COPY (it
    usually says so when the COPY ends), the COPY is left and its chunks are stored one by
    one: the same readings, rollups and report as an import that met no refusal."""
    from django.db import connection

    if connection.vendor != "postgresql":
        pytest.skip("one COPY for many chunks is PostgreSQL's")
    import psycopg

    from readings import services

    zone, start = ZONES[0]
    data = clarity(random.Random(32), zone, start, 6000, 0.01, crash=False).encode("utf-8-sig")
    monkeypatch.setattr(
        services.readings_ingest,
        "__kwdefaults__",
        {**services.readings_ingest.__kwdefaults__, "chunk_size": 1000},
    )
    plain = make_patient("REFUSED-NO", timezone=zone)
    expected = stored(plain, imported(plain, data, fast=True))
    assert expected[2][3] > 5000  # the file was imported, not refused
    real = psycopg.Copy.write
    calls = {"n": 0}

    def refused_on_the_third_write(self, buffer):  # the signature, chunk 1, then chunk 2
        calls["n"] += 1
        if calls["n"] == 3:
            raise psycopg.errors.UniqueViolation("duplicate key (simulated)")
        return real(self, buffer)

    monkeypatch.setattr(psycopg.Copy, "write", refused_on_the_third_write)
    patient = make_patient("REFUSED-YES", timezone=zone)
    assert stored(patient, imported(patient, data, fast=True)) == expected
    assert calls["n"] > 3  # the chunks were written again, one COPY each


@pytest.mark.parametrize(
    ("zone_start", "odd"), [(CSV_ZONES[0], 0.0), (CSV_ZONES[1], 0.01), (CSV_ZONES[2], 0.1)]
)
def test_a_fast_plain_csv_import_stores_what_the_general_rules_store(zone_start, odd):
    """The plain CSV fast path too: the same readings, devices, rollups and upload report as
    row by row, for a new patient, a re-upload and an overlapping file."""
    zone, start = zone_start
    first = plain_csv(random.Random(41), zone, start, 9000, odd).encode("utf-8", "surrogatepass")
    overlapping = plain_csv(random.Random(41), zone, start, 12000, odd).encode(
        "utf-8", "surrogatepass"
    )
    outcomes = []
    for fast in (True, False):
        patient = make_patient(f"CSV-FAST-{fast}", timezone=zone)
        steps = []
        for data in (first, first, overlapping):  # new, re-upload, overlap
            plaincsv.FAST_PATH = fast
            try:
                upload = upload_create(patient=patient, by=None, file=data, filename="plain.csv")
                upload = upload_process(upload_id=upload.pk)
            finally:
                plaincsv.FAST_PATH = True
            steps.append(stored(patient, upload))
        outcomes.append(steps)
    fast, general = outcomes
    assert fast == general
    assert fast[0][2][3] > 8000  # the file was imported, not refused


def _switched_device(data: bytes, after_line: int) -> bytes:
    """``data`` with its readings from ``after_line`` on sent by another phone (a device the
    first rows do not name)."""
    lines = data.splitlines(keepends=True)  # the files end lines in \n, \r\n or \r
    for n in range(after_line, len(lines)):
        lines[n] = lines[n].replace(b",Android G6,", b",iPhone G7,")
    return b"".join(lines)


class _ParserCrash(Exception):
    pass


def _crashing_after(rows: int):
    """A ``_Parsing.__call__`` whose records stop with an error after ``rows`` rows."""
    from readings.parsers import ReadingBatch
    from readings.services.uploads import _Parsing

    real = _Parsing.__call__

    def records(self):
        seen = 0
        for item in real(self):
            yield item
            seen += len(item) if type(item) is ReadingBatch else 1
            if seen >= rows:
                raise _ParserCrash(f"after {seen} rows")

    return records


@pytest.mark.parametrize(
    ("zone_start", "odd"), [(ZONES[0], 0.0), (ZONES[1], 0.01), (ZONES[2], 0.1)]
)
def test_a_copy_begun_on_the_first_rows_stores_what_one_begun_on_the_first_chunk_stores(
    zone_start, odd, monkeypatch
):
    """PostgreSQL starts an upload's COPY on the first chunk's first rows (``EARLY_ROWS``,
    ``ingest._stream_head``), then writes the rest of the chunk once it is read: the same
    readings, devices, rollups and report as a COPY begun on the whole chunk — for a new
    patient, a re-upload, an overlap, a device first named after those rows (the head is
    taken back), and a parser error after them (nothing stored)."""
    from django.db import connection

    if connection.vendor != "postgresql":
        pytest.skip("the COPY is PostgreSQL's")
    from readings import services
    from readings.models import Device

    zone, start = zone_start
    first = clarity(random.Random(41), zone, start, 9000, odd, crash=False).encode("utf-8-sig")
    overlapping = clarity(random.Random(42), zone, start, 12000, odd, crash=False).encode(
        "utf-8-sig"
    )
    switched = _switched_device(first, 3000)
    kept = []
    real_kept = services.ingest._head_kept

    def head_kept(stream, batch):
        kept.append(real_kept(stream, batch))
        return kept[-1]

    monkeypatch.setattr(services.ingest, "_head_kept", head_kept)
    one_by_one = []  # chunks stored on their own (``_store``): none when the COPY held them
    real_store = services.ingest._store

    def store(part, *args):
        one_by_one.append(part.seen)
        return real_store(part, *args)

    monkeypatch.setattr(services.ingest, "_store", store)
    outcomes = []
    for early in (300, 0):
        monkeypatch.setattr(services.uploads, "EARLY_ROWS", early)
        patient = make_patient(f"EARLY-{early}", timezone=zone)
        steps = []
        for data in (first, first, overlapping):  # new, re-upload, overlap
            one_by_one.clear()
            steps.append(stored(patient, imported(patient, data, fast=True)))
            steps.append(list(one_by_one))  # the same chunks fell back to one by one
        other = make_patient(f"EARLY-SWITCHED-{early}", timezone=zone)
        steps.append(stored(other, imported(other, switched, fast=True)))
        steps.append(sorted(Device.objects.filter(patient=other).values_list("identity", "kind")))
        crashed = make_patient(f"EARLY-CRASH-{early}", timezone=zone)
        with monkeypatch.context() as crash:
            crash.setattr(services.uploads._Parsing, "__call__", _crashing_after(3000))
            with pytest.raises(_ParserCrash):
                imported(crashed, first, fast=True)
        upload = Upload.objects.get(patient=crashed)
        steps.append(stored(crashed, upload))
        steps.append(Device.objects.filter(patient=crashed).count())
        outcomes.append(steps)
        if early:
            # kept (new, re-upload, overlap), taken back (switched); the crash's never reached
            assert [n > 0 for n in kept] == [True, True, True, False]
            kept.clear()
    early, whole = outcomes
    assert early == whole  # rollups too, to the last bit of every sum
    assert early[0][2][3] > 8000  # the file was imported, not refused
    if not odd:
        assert not early[1]  # a new file without odd rows: its one COPY
    assert len(early[7]) == 2  # both phones
    assert early[8][2][0] == "failed" and not early[8][0]  # the crash stored nothing
    assert not kept  # no head without EARLY_ROWS
