"""Ingestion: store every reading once, keep daily rollups exact, report every bad row.

The one write path for glucose, used by file uploads, the REST batch API, the Nightscout API,
FHIR and the demo seeder:

    parse (readings.parsers) → readings_ingest → [chunk: devices, insert ON CONFLICT DO
    NOTHING RETURNING, conflicts, rollup deltas] → IngestResult

Why this shape:
- uniqueness is the database's job (constraint ``reading_unique_instant``: one reading per
  patient, kind and instant, whichever device sent it — see ``readings.models``); a chunk is
  inserted with ``ON CONFLICT DO NOTHING RETURNING`` so duplicates and concurrent uploads of
  the same file are absorbed without a query per row, and we learn exactly which rows were new;
- rollups are additive (count, sums, band counts, min/max), so the rows that were really inserted
  are folded into ``DailyRollup`` with an ``ON CONFLICT DO UPDATE`` — correct under concurrency;
- on PostgreSQL a chunk is first tried with a plain ``COPY`` straight into the readings table,
  inside a savepoint, its rows encoded to binary and its rollup inputs gathered in one pass
  (``_encode_batch``): most files are new data, and then that is all it costs. A unique violation
  (a re-upload, an overlap, a concurrent upload of the same file) rolls back to the savepoint and
  the chunk takes the conflict-handling path: ``COPY`` into a temporary staging table and one
  ``INSERT … SELECT … ON CONFLICT DO NOTHING``. Once a chunk had duplicates the next ones go
  straight to that path, until one has none;
- memory is bounded by the chunk size, whatever the file size;
- callers wrap the call in ``transaction.atomic()``: a crash leaves nothing half-written.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import queue
import re
import secrets
import struct
import threading
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from itertools import islice

import numpy as np
import pandas as pd
from django.conf import settings
from django.core.files.base import ContentFile, File
from django.db import IntegrityError, connection, transaction
from django.db.models import F, Q
from django.urls import reverse
from django.utils import timezone

from glycemia.rollups import ROLLUP_FIELDS, daily_rollups, daily_wear
from outbox.services import task_enqueue
from readings.models import (
    ALREADY_STORED,
    DailyRollup,
    Device,
    NightscoutLink,
    Reading,
    Treatment,
    Upload,
)
from readings.parsers import UnreadableFile, parse
from readings.parsers._common import sensor_value_problem
from readings.signals import readings_changed

logger = logging.getLogger(__name__)

CHUNK_SIZE = 5000
DEFAULT_INTERVAL_MINUTES = 5.0
ROLLED_UP_KINDS = ("cgm", "smbg")
CONFLICT_TOLERANCE_MG_DL = 0.5  # same identity, values closer than this are the same reading
# Plausible time (DESIGN §3): nothing before the Unix epoch, nothing later than now + this
# (a device clock a little ahead is normal; a day ahead is a wrong clock or zone).
FUTURE_TOLERANCE = dt.timedelta(hours=1)
EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
# Glucose a CGM reports starts at 40 mg/dL (Dexcom, Medtronic, Libre: lower is "LO"). Below
# it, 0-12 are Dexcom/Nightscout status codes and 13-39 is no sensor's reading: both are
# rejected (DESIGN §3: never glucose). The rule is `sensor_value_problem`, shared with every
# parser; a device's own "Low" marker arrives as a reading at 40 flagged "low".
HIGHEST_ERROR_CODE = 12
VALUE_LIMITS_MG_DL = (0.0, 1000.0)  # the table's check constraint: 0 < v <= 1000
# Dexcom's special values as Nightscout names them (lib/plugins/errorcodes.js).
SENSOR_ERROR_CODES = {
    0: "no value",
    1: "sensor not active",
    2: "minimal deviation",
    3: "no antenna",
    5: "sensor not calibrated",
    6: "counts deviation",
    9: "absolute deviation",
    10: "power deviation",
    12: "bad RF",
}
REJECTED_KEPT = 1000  # rejected rows kept with their reason; beyond, only counts per reason


@dataclass
class IngestResult:
    """What an ingest did. ``rejected`` keeps the first ``limit`` rows with their reason (all
    of them when ``limit`` is None); ``rejected_total`` and ``rejected_by_reason`` count every
    one, so a file of junk costs a bounded list, not one entry per bad row."""

    accepted: int = 0
    duplicates: int = 0
    rejected: list[dict] = field(default_factory=list)
    treatments: int = 0
    warnings: list[str] = field(default_factory=list)
    rejected_total: int = 0
    rejected_by_reason: dict[str, int] = field(default_factory=dict)
    limit: int | None = REJECTED_KEPT
    conflicts: int = 0  # of the rejected: a different value at an instant already stored

    def reject(self, line: int, reason: str, *, stored: dict | None = None) -> None:
        """One row not stored, and why. ``stored``: the row is a reading already stored with
        another value (``{"kind", "at", "stored_mg_dl", "value_mg_dl"}``), kept so that pages
        can say it in the reader's unit and time (``Upload.conflicts``)."""
        self.rejected_total += 1
        kind = reason_kind(reason)
        self.rejected_by_reason[kind] = self.rejected_by_reason.get(kind, 0) + 1
        if self.limit is None or len(self.rejected) < self.limit:
            row = {"line": line, "reason": reason}
            if stored is not None:
                row["stored"] = stored
            self.rejected.append(row)

    def as_dict(self) -> dict:
        return {
            "accepted": self.accepted,
            "duplicates": self.duplicates,
            "rejected": row_errors(self.rejected),
        }


def row_errors(rows: list[dict]) -> list[dict]:
    """Rejected rows as the contracts give them: ``[{"line", "reason"}]`` (DESIGN §4)."""
    return [{"line": row["line"], "reason": row["reason"]} for row in rows]


_NUMBERS = re.compile(r"[-+]?\d[\d.:,+\-TZ]*")


def reason_kind(reason: str) -> str:
    """A reason with its numbers and instants blanked: what rejected rows are counted by.

    >>> reason_kind("glucose 1500 mg/dL is impossible (> 1000)")
    'glucose # mg/dL is impossible (> #)'
    """
    return _NUMBERS.sub("#", reason)[:160]


def reading_checked(reading, *, now: dt.datetime):
    """(reading to store or None, why not): DESIGN §3 on values and time, on every path.

    Checked here, on the one write path, whatever parser or API built the record: a value
    must be a finite number in the table's range; a sensor (CGM, scan) value below 40 mg/dL
    is rejected, named as a Dexcom/Nightscout status code when it is 0-12 and unflagged
    (``sensor_value_problem`` otherwise); the time must be after 1970 and not in the future.

    >>> reading_checked(Reading(1, datetime(2024, 5, 1, tzinfo=UTC), 10.0, "cgm"), now=now)
    (None, 'sensor error code 10 (power deviation), not a glucose value (...)')
    """
    value = reading.value_mg_dl
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None, f"glucose must be a number, not {type(value).__name__}"
    if not VALUE_LIMITS_MG_DL[0] < value <= VALUE_LIMITS_MG_DL[1]:  # NaN fails this too
        return None, f"glucose {value:g} mg/dL is impossible (not in 0-1000)"
    problem = sensor_value_problem(value, reading.kind)
    if problem:
        if value <= HIGHEST_ERROR_CODE and not reading.flag:
            name = SENSOR_ERROR_CODES.get(int(value)) if value == int(value) else None
            what = f"sensor error code {value:g}" + (f" ({name})" if name else "")
            return None, f"{what}, not a glucose value (CGM values start at 40 mg/dL)"
        return None, problem
    problem = time_problem(reading.timestamp, now=now)
    return (None, problem) if problem else (reading, None)


def time_problem(timestamp, *, now: dt.datetime) -> str | None:
    """Why an instant cannot be a reading's or a treatment's time (before 1970, future)."""
    if not isinstance(timestamp, dt.datetime):
        return "time must be a date and time"
    if timestamp.tzinfo is None:
        timestamp = timestamp.replace(tzinfo=dt.UTC)
    if timestamp < EPOCH:
        return f"time {_when(timestamp)} is before 1970"
    if timestamp > now + FUTURE_TOLERANCE:
        return f"time {_when(timestamp)} is in the future: check the device clock and time zone"
    return None


def _when(moment: dt.datetime) -> str:
    try:
        return moment.astimezone(dt.UTC).isoformat(timespec="minutes").replace("+00:00", "Z")
    except OverflowError:
        return moment.isoformat(timespec="minutes")


def _chunks(items: Iterable, size: int) -> Iterator[list]:
    iterator = iter(items)
    while chunk := list(islice(iterator, size)):
        yield chunk


class _Devices:
    """Device rows by identity for one patient, created on first sight."""

    def __init__(self, patient_id: int):
        self.patient_id = patient_id
        self.ids: dict[str, int] = dict(
            Device.objects.filter(patient_id=patient_id).values_list("identity", "pk")
        )

    def id_for(self, identity: str, kind: str) -> int:
        identity = (identity or "")[:200]
        if identity not in self.ids:
            device, _ = Device.objects.get_or_create(
                patient_id=self.patient_id,
                identity=identity,
                defaults={"kind": "cgm" if kind in ("cgm", "scan") else "meter" if kind else ""},
            )
            self.ids[identity] = device.pk
        return self.ids[identity]


def _one_writer_per_patient(patient_id: int) -> None:
    """Lock the patient's row before writing their readings or rebuilding their rollups
    (PostgreSQL; SQLite has one writer anyway): imports and rebuilds take it first. Without
    this, an import and a rebuild of one patient each held rows the other needed (rollups,
    the triage entry, the patient row through the readings' foreign key) and PostgreSQL killed
    one of them as a deadlock (found by tests/faults/test_redis_down.py, when the outbox sends
    both at once). ``NO KEY UPDATE`` still lets other rows reference the patient."""
    from patients.models import Patient

    if connection.vendor == "postgresql" and not connection.get_autocommit():
        list(Patient.objects.select_for_update(no_key=True).filter(pk=patient_id).values("pk"))


def readings_ingest(
    *,
    patient,
    items: Iterable,
    upload: Upload | None = None,
    chunk_size: int = CHUNK_SIZE,
    on_progress=None,
    rejected_limit: int | None = REJECTED_KEPT,
) -> IngestResult:
    """Store parsed items (readings, treatments, row errors) for ``patient``.

    ``items`` is any iterable of ``readings.parsers`` records (``Reading``, ``Treatment``,
    ``RowError``), consumed once, in chunks. Every reading is checked (``reading_checked``)
    before it is stored. Must run inside ``transaction.atomic()``. ``on_progress(rows)`` is
    called after each chunk with the number of records read so far. An upload that is junk
    from its first ``JUNK_ROWS`` rows on stops with ``UnreadableFile``.
    """
    _one_writer_per_patient(patient.pk)
    result = IngestResult(limit=rejected_limit)
    devices = _Devices(patient.pk)
    upload_id = upload.pk if upload else None
    plan = _InsertPlan()
    now = timezone.now()
    seen = 0
    for chunk in _chunks(items, chunk_size):
        readings, treatments = [], []
        for item in chunk:
            if hasattr(item, "value_mg_dl"):
                reading, problem = reading_checked(item, now=now)
                if problem is None:
                    readings.append(reading)
                else:
                    result.reject(item.line, problem)
            elif hasattr(item, "amount"):
                problem = time_problem(item.timestamp, now=now)
                if problem is None:
                    treatments.append(item)
                else:
                    result.reject(item.line, problem)
            else:
                result.reject(item.line, item.reason)
        if readings:
            _insert_readings(patient, readings, devices, upload_id, result, plan)
        if treatments:
            result.treatments += _insert_treatments(patient, treatments, devices, upload_id)
        seen += len(chunk)
        if on_progress is not None:
            on_progress(seen)
        if upload is not None and seen >= JUNK_ROWS and result.rejected_total >= seen * 0.9:
            if not (result.accepted or result.duplicates or result.treatments):
                raise UnreadableFile(_junk_reason(seen, result))
        del chunk, readings, treatments  # not kept alive while the next chunk is read
    if result.accepted:
        readings_changed.send(sender=None, patient_id=patient.pk)  # the triage entry
    return result


JUNK_ROWS = 10_000  # an upload whose first rows are all rejected stops after this many


def _junk_reason(seen: int, result: IngestResult) -> str:
    common = sorted(result.rejected_by_reason.items(), key=lambda item: -item[1])[:3]
    reasons = "; ".join(f"{count} × {reason}" for reason, count in common)
    return (
        f"stopped after {seen} rows: none of them could be read ({reasons}). "
        "Is this the right file and format?"
    )


@dataclass
class _InsertPlan:
    """Whether the next chunk is worth trying with a plain COPY (PostgreSQL).

    Starts hopeful (a new file); a chunk that met stored rows turns it off, a chunk that met
    none turns it back on — an overlapping export overlaps at one end, not everywhere.
    """

    direct: bool = True


def _insert_readings(
    patient, readings: list, devices: _Devices, upload_id, result, plan: _InsertPlan
) -> None:
    if connection.vendor == "postgresql" and plan.direct:
        batch = _encode_batch(patient.pk, readings, devices, upload_id)
        if _copy_direct(batch.data):
            result.accepted += batch.count
            if batch.repeated:
                conflicts = _conflicts(batch.repeated)
                result.duplicates += len(batch.repeated) - len(conflicts)
                result.conflicts += len(conflicts)
                for row in conflicts:
                    result.reject(row["line"], row["reason"], stored=row["stored"])
            _fold_into_rollups(patient, batch.series())
            return
        del batch  # some rows are already stored: the conflict-handling path below
    rows, repeated = _rows(patient.pk, readings, devices, upload_id)
    if connection.vendor == "postgresql":
        inserted, skipped = _insert_staged(rows)
        plan.direct = not skipped
    else:
        inserted, skipped = _insert_generic(rows)
    result.accepted += len(inserted)
    not_inserted = skipped + repeated
    if not_inserted:
        conflicts = _conflicts(not_inserted)
        result.duplicates += len(not_inserted) - len(conflicts)
        result.conflicts += len(conflicts)
        for row in conflicts:
            result.reject(row["line"], row["reason"], stored=row["stored"])
    _fold_into_rollups(patient, _series(inserted))


def _identity(row: tuple) -> tuple:
    return row[3], row[5]  # timestamp, kind: one reading per instant (the patient is the same)


def _rows(
    patient_id: int, readings: list, devices: _Devices, upload_id
) -> tuple[list[tuple], list[tuple]]:
    """Readings → table rows, split into first occurrences and in-file repeats of an identity.

    A row is ``(line, patient, device, timestamp, value, kind, flag, meal_tag, upload)``.
    Repeats never reach the database, so every staged row has its own identity and "was it
    inserted?" has one answer per row. One pass: this runs for every reading of every file.
    """
    device_ids: dict[str, int] = {}
    seen: set = set()
    unique, repeated = [], []
    for r in readings:
        device = r.device_key or r.device  # stable identity when the parser knows it
        device_id = device_ids.get(device)
        if device_id is None:
            device_id = device_ids[device] = devices.id_for(device, r.kind)
        timestamp, kind = r.timestamp, r.kind
        if timestamp.tzinfo is None:  # records are UTC; a naive one is read as such
            timestamp = timestamp.replace(tzinfo=dt.UTC)
        row = (
            r.line,
            patient_id,
            device_id,
            timestamp,
            float(r.value_mg_dl),
            kind,
            r.flag or "",
            r.meal_tag or "",
            upload_id,
        )
        key = (timestamp, kind)
        if key in seen:
            repeated.append(row)
        else:
            seen.add(key)
            unique.append(row)
    return unique, repeated


_COLUMNS = "patient_id, device_id, timestamp, value_mg_dl, kind, flag, meal_tag, upload_id"


def _insert_generic(rows: list[tuple]) -> tuple[list[tuple], list[tuple]]:
    """Multi-row INSERT … ON CONFLICT DO NOTHING RETURNING (SQLite ≥ 3.35, PostgreSQL).

    Returns (inserted rows, rows already stored).
    """
    table = Reading._meta.db_table
    returned: list[tuple] = []
    per_statement = 900  # 8 parameters a row stays under SQLite's variable limit
    with connection.cursor() as wrapper:
        cursor = _undebugged(wrapper)
        for start in range(0, len(rows), per_statement):
            part = rows[start : start + per_statement]
            values = ", ".join(["(%s, %s, %s, %s, %s, %s, %s, %s)"] * len(part))
            params = [value for row in part for value in row[1:]]
            cursor.execute(
                f"INSERT INTO {table} ({_COLUMNS}) VALUES {values} "
                "ON CONFLICT (patient_id, kind, timestamp) DO NOTHING "
                "RETURNING timestamp, kind",
                params,
            )
            returned.extend(cursor.fetchall())
    new = {(_utc(t), k) for t, k in returned}
    inserted = [row for row in rows if _identity(row) in new]
    skipped = [row for row in rows if _identity(row) not in new]
    return inserted, skipped


def _undebugged(cursor):
    """The backend cursor without DEBUG's per-query logging, which would triple bulk time."""
    return getattr(cursor, "cursor", cursor) if connection.vendor == "sqlite" else cursor


# Binary COPY framing (PostgreSQL manual, "COPY", binary format): a signature, flags and
# header-extension length before the first row; a field count of -1 after the last.
_COPY_SIGNATURE = b"PGCOPY\n\xff\r\n\x00" + struct.pack(">ii", 0, 0)
_COPY_TRAILER = struct.pack(">h", -1)
_PG_EPOCH = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)  # binary timestamptz: µs since then
_PG_EPOCH_UNIX_US = 946_684_800_000_000
_MICROSECOND = dt.timedelta(microseconds=1)


@dataclass
class _Batch:
    """A chunk's readings as binary ``COPY`` data for ``_COLUMNS``, built in one pass.

    ``repeated`` are table rows (``_rows``' form) of in-file repeats of an identity, which are
    not in ``data``; ``rolled_up`` holds, per rolled-up kind, the µs since 2000 and the values
    of the rows in ``data``, in file order.
    """

    data: bytes
    count: int
    repeated: list[tuple]
    rolled_up: dict[str, tuple[list[int], list[float]]]

    def series(self) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        """``_series``' form: per kind, UTC epoch seconds (exactly ``datetime.timestamp()``:
        µs below 2**53 are exact doubles and both divide them correctly rounded) and values."""
        return {
            kind: ((np.array(micros, dtype="int64") + _PG_EPOCH_UNIX_US) / 1e6, np.array(values))
            for kind, (micros, values) in self.rolled_up.items()
            if micros
        }


def _encode_batch(patient_id: int, readings: list, devices: _Devices, upload_id) -> _Batch:
    """Readings → binary COPY rows, skipping in-file repeats, in one pass (see ``_rows``).

    Every field but the timestamp and the value is the same for all readings of one device,
    kind, flag and meal tag (a "shape"; a file has a handful), so each shape's bytes before and
    after those two are encoded once and a row is one ``struct`` call. This is the same
    encoding psycopg's ``write_row`` produces, at a fraction of its per-row cost.
    """
    encoding = connection.connection.info.encoding
    shapes: dict[tuple, tuple] = {}
    seen_by_identity: dict[str, set] = {}  # kind -> µs already in this chunk (any device)
    rolled_up: dict[str, tuple[list[int], list[float]]] = {
        kind: ([], []) for kind in ROLLED_UP_KINDS
    }
    parts = [_COPY_SIGNATURE]
    append = parts.append
    repeated = []
    for r in readings:
        shape_key = (r.device_key or r.device, r.kind, r.flag, r.meal_tag)
        try:
            pack, prefix, suffix, device_id, seen, times, values = shapes[shape_key]
        except KeyError:
            shape = shapes[shape_key] = _shape(
                patient_id, r, devices, upload_id, encoding, seen_by_identity, rolled_up
            )
            pack, prefix, suffix, device_id, seen, times, values = shape
        timestamp = r.timestamp
        if timestamp.tzinfo is None:  # records are UTC; a naive one is read as such
            timestamp = timestamp.replace(tzinfo=dt.UTC)
        micros = (timestamp - _PG_EPOCH) // _MICROSECOND
        value = float(r.value_mg_dl)
        if micros in seen:
            row = (r.line, patient_id, device_id, timestamp, value, r.kind, r.flag or "")
            repeated.append((*row, r.meal_tag or "", upload_id))
            continue
        seen.add(micros)
        append(pack(prefix, micros, 8, value, suffix))
        if times is not None:
            times.append(micros)
            values.append(value)
    count = len(parts) - 1
    append(_COPY_TRAILER)
    return _Batch(b"".join(parts), count, repeated, rolled_up)


_SHAPE_PREFIX = struct.Struct(">hiqiqi")  # 8 fields; patient, device; the timestamp's length


def _shape(patient_id, reading, devices: _Devices, upload_id, encoding, seen_by_identity, rolled):
    """The constant parts of one shape's COPY rows (see ``_encode_batch``)."""
    kind = reading.kind
    device_id = devices.id_for(reading.device_key or reading.device, kind)
    prefix = _SHAPE_PREFIX.pack(8, 8, patient_id, 8, device_id, 8)
    suffix = b"".join(
        struct.pack(">i", len(text)) + text
        for text in (
            kind.encode(encoding),
            (reading.flag or "").encode(encoding),
            (reading.meal_tag or "").encode(encoding),
        )
    )
    suffix += struct.pack(">iq", 8, upload_id) if upload_id is not None else struct.pack(">i", -1)
    pack = struct.Struct(f">{len(prefix)}sqid{len(suffix)}s").pack
    seen = seen_by_identity.setdefault(kind, set())
    times, values = rolled.get(kind, (None, None))
    return pack, prefix, suffix, device_id, seen, times, values


def _copy_direct(data: bytes) -> bool:
    """``COPY`` a chunk's encoded rows straight into the readings table, in a savepoint.

    Most files are new data, and then that is all a chunk costs: the same work as the fastest
    bulk load. False (and nothing written) when some row is already stored (or is being stored
    by a concurrent upload, which COPY waits for): a unique violation rolls the savepoint back
    and the caller takes the conflict-handling path, ``_insert_staged``, which absorbs them.
    Any other error comes back from ``_insert_staged`` too, as it always did.
    """
    try:
        with transaction.atomic(), connection.wrap_database_errors:  # a savepoint
            with connection.cursor() as cursor:
                with cursor.cursor.copy(
                    f"COPY {Reading._meta.db_table} ({_COLUMNS}) FROM STDIN (FORMAT BINARY)"
                ) as copy:
                    copy.write(data)
        return True
    except IntegrityError:
        return False


def _insert_staged(rows: list[tuple]) -> tuple[list[tuple], list[tuple]]:
    """COPY into a temporary staging table, then one INSERT … SELECT … ON CONFLICT.

    Only the positions of the rows that were *not* inserted come back (usually none, or all
    for a re-upload): returning every inserted row's timestamp cost more than the insert.
    """
    table = Reading._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE TEMP TABLE IF NOT EXISTS reading_copy_stage ("
            " idx integer, patient_id bigint, device_id bigint, timestamp timestamptz,"
            " value_mg_dl double precision, kind varchar(12), flag varchar(4),"
            " meal_tag varchar(12), upload_id bigint) ON COMMIT DELETE ROWS"
        )
        cursor.execute("DELETE FROM reading_copy_stage")
        _copy_rows(cursor, "reading_copy_stage", rows)
        cursor.execute(
            f"WITH inserted AS (INSERT INTO {table} ({_COLUMNS}) SELECT {_COLUMNS} "
            "FROM reading_copy_stage ORDER BY idx "
            "ON CONFLICT (patient_id, kind, timestamp) DO NOTHING "
            "RETURNING timestamp, kind) "
            "SELECT s.idx FROM reading_copy_stage s WHERE NOT EXISTS (SELECT 1 FROM inserted i "
            "WHERE i.timestamp = s.timestamp AND i.kind = s.kind)"
        )
        skipped_positions = {idx for (idx,) in cursor.fetchall()}
    if not skipped_positions:
        return rows, []
    inserted = [row for n, row in enumerate(rows) if n not in skipped_positions]
    skipped = [rows[n] for n in sorted(skipped_positions)]
    return inserted, skipped


# Column types of "idx, " + _COLUMNS for binary COPY, in order.
_STAGE_TYPES = ("int4", "int8", "int8", "timestamptz", "float8", "varchar", "varchar", "varchar")
_STAGE_TYPES += ("int8",)


def _copy_rows(cursor, table: str, rows: list[tuple]) -> None:
    """Binary ``COPY`` of numbered rows into ``table`` (``idx`` then ``_COLUMNS``).

    Binary, because psycopg encodes a datetime in C while formatting it as text costs about a
    microsecond a row, more than the rest of the row; rows are streamed as they are encoded, so
    the server works while Python encodes.
    """
    with cursor.cursor.copy(f"COPY {table} (idx, {_COLUMNS}) FROM STDIN (FORMAT BINARY)") as copy:
        copy.set_types(_STAGE_TYPES)
        write = copy.write_row
        for n, row in enumerate(rows):
            write((n, *row[1:]))


def _utc(timestamp) -> dt.datetime:
    if isinstance(timestamp, str):  # SQLite returns text
        timestamp = dt.datetime.fromisoformat(timestamp)
    if timestamp.tzinfo is None:
        return timestamp.replace(tzinfo=dt.UTC)
    return timestamp.astimezone(dt.UTC)


def _conflicts(not_inserted: list[tuple]) -> list[dict]:
    """Rows not inserted whose stored twin has a different value: kept first, reported."""
    stamps = [row[3] for row in not_inserted]
    stored = {
        (t, k): v
        for t, k, v in Reading.objects.filter(
            # a second either side: SQLite compares its stored text, not instants
            patient_id=not_inserted[0][1],
            timestamp__gte=min(stamps) - dt.timedelta(seconds=1),
            timestamp__lte=max(stamps) + dt.timedelta(seconds=1),
        ).values_list("timestamp", "kind", "value_mg_dl")
    }
    conflicts = []
    for row in not_inserted:
        value = stored.get(_identity(row))
        if value is not None and abs(value - row[4]) > CONFLICT_TOLERANCE_MG_DL:
            conflicts.append(
                {
                    "line": row[0],
                    "reason": (
                        f"{row[5]} reading at {row[3].isoformat()} {ALREADY_STORED}"
                        f" {value:g} mg/dL; {row[4]:g} mg/dL ignored (first value kept)"
                    ),
                    "stored": {
                        "kind": row[5],
                        "at": row[3].isoformat(),
                        "stored_mg_dl": value,
                        "value_mg_dl": row[4],
                    },
                }
            )
    return conflicts


def _series(inserted: list[tuple]) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Per rolled-up kind, the UTC epoch seconds and values of inserted table rows."""
    series = {}
    for kind in ROLLED_UP_KINDS:
        picked = [row for row in inserted if row[5] == kind]
        if picked:
            times = np.array([row[3].timestamp() for row in picked], dtype="float64")
            series[kind] = times, np.array([row[4] for row in picked], dtype="float64")
    return series


def _fold_into_rollups(patient, series: dict[str, tuple[np.ndarray, np.ndarray]]) -> None:
    """Add newly inserted readings (``_series``) to their local days' rollups (additive upsert);
    a CGM day's interval and slots are recounted from all its stored readings."""
    for kind in ROLLED_UP_KINDS:
        if kind not in series:
            continue
        times, values = series[kind]
        stamps = (times * 1e9).astype("int64").astype("datetime64[ns]")
        frame = daily_rollups(stamps, values, tz=patient.timezone)
        if kind == "cgm":
            frame = frame.join(_stored_wear(patient, frame.index))
        rollups_add(
            patient_id=patient.pk, kind=kind, frame=frame, interval_minutes=DEFAULT_INTERVAL_MINUTES
        )


def _stored_wear(patient, days) -> pd.DataFrame:
    """Interval and slots of these local days from all their stored CGM readings (the new ones
    included: they are inserted already). Issue #17: the interval is each day's own, whoever
    sent its readings and however they were batched (uploaders post one reading at a time),
    so the rollups count wear as the raw path does (``glycemia.series.day_wear``)."""
    zone = patient.tzinfo
    ranges = Q()
    for first, last in _runs(sorted(day.date() if hasattr(day, "date") else day for day in days)):
        start = dt.datetime.combine(first, dt.time.min, zone)
        after = dt.datetime.combine(last + dt.timedelta(days=1), dt.time.min, zone)
        ranges |= Q(timestamp__gte=start.astimezone(dt.UTC), timestamp__lt=after.astimezone(dt.UTC))
    stored = Reading.objects.filter(ranges, patient_id=patient.pk, kind="cgm").values_list(
        "timestamp", flat=True
    )
    micros = np.array(
        sorted((moment - EPOCH) // dt.timedelta(microseconds=1) for moment in stored),
        dtype="int64",
    )
    return daily_wear((micros * 1000).astype("datetime64[ns]"), tz=patient.timezone)


def _runs(days: list[dt.date]) -> Iterator[tuple[dt.date, dt.date]]:
    """Consecutive dates as (first, last) runs: [1, 2, 3, 7] -> (1, 3), (7, 7)."""
    first = last = None
    for day in days:
        if last is not None and day - last <= dt.timedelta(days=1):
            last = day
            continue
        if first is not None:
            yield first, last
        first = last = day
    if first is not None:
        yield first, last


def rollups_add(*, patient_id: int, kind: str, frame, interval_minutes: float) -> None:
    """Upsert rollup deltas: counts and sums add, min/max combine; a day's
    ``interval_minutes`` and ``slots`` (not additive) are set from the frame's columns of
    those names when it has them (``glycemia.rollups.daily_wear``), else to
    ``interval_minutes`` and unknown."""
    if frame is None or len(frame) == 0:
        return
    table = DailyRollup._meta.db_table
    columns = ["patient_id", "date", "kind", *ROLLUP_FIELDS, "interval_minutes", "slots"]
    if connection.vendor == "postgresql":
        least, greatest = "LEAST", "GREATEST"
    else:
        least, greatest = "MIN", "MAX"
    updates = []
    for name in ROLLUP_FIELDS:
        if name == "min":
            updates.append(f"min = {least}(COALESCE({table}.min, excluded.min), excluded.min)")
        elif name == "max":
            updates.append(f"max = {greatest}(COALESCE({table}.max, excluded.max), excluded.max)")
        else:
            updates.append(f"{name} = {table}.{name} + excluded.{name}")
    updates.append("interval_minutes = excluded.interval_minutes")
    updates.append("slots = excluded.slots")
    # Column by column with tolist() (plain Python numbers): iterrows() builds a Series a day.
    columns_values = [frame[name].tolist() for name in ROLLUP_FIELDS]
    if "interval_minutes" in frame:
        columns_values.append([float(v) for v in frame["interval_minutes"].tolist()])
    else:
        columns_values.append([float(interval_minutes)] * len(frame))
    if "slots" in frame:
        columns_values.append([None if v != v else int(v) for v in frame["slots"].tolist()])
    else:
        columns_values.append([None] * len(frame))
    rows = []
    for day, values in zip(frame.index, zip(*columns_values, strict=True), strict=True):
        date = day.date() if hasattr(day, "date") else day
        rows.append([patient_id, date, kind, *values])
    placeholders = "(" + ", ".join(["%s"] * len(columns)) + ")"
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} ({', '.join(columns)}) VALUES "
            + ", ".join([placeholders] * len(rows))
            + " ON CONFLICT (patient_id, date, kind) DO UPDATE SET "
            + ", ".join(updates),
            [value for row in rows for value in row],
        )


def _insert_treatments(patient, treatments: list, devices: _Devices, upload_id) -> int:
    objects = [
        Treatment(
            patient_id=patient.pk,
            device_id=devices.id_for(t.device_key or t.device, ""),
            timestamp=t.timestamp,
            kind=t.kind,
            amount=t.amount,
            text=t.text or "",
            upload_id=upload_id,
        )
        for t in treatments
    ]
    before = Treatment.objects.filter(patient_id=patient.pk).count()
    Treatment.objects.bulk_create(objects, ignore_conflicts=True, batch_size=1000)
    return Treatment.objects.filter(patient_id=patient.pk).count() - before


def rollups_rebuild(*, patient) -> None:
    """Recompute a patient's rollups from raw readings, atomically.

    Run when the patient's time zone changes (their local days move: ``readings.tasks``),
    as a repair tool, and as the test oracle. The patient row is locked first, so two
    rebuilds of one patient run one after the other; a reader sees the old rollups or the
    new ones, never a mix.
    """
    with transaction.atomic():
        from patients.models import Patient

        _one_writer_per_patient(patient.pk)  # the same lock as an import takes
        patient = Patient.objects.get(pk=patient.pk)
        DailyRollup.objects.filter(patient=patient).delete()
        for kind in ROLLED_UP_KINDS:
            rows = list(
                Reading.objects.filter(patient=patient, kind=kind)
                .order_by("timestamp")
                .values_list("timestamp", "value_mg_dl")
            )
            if not rows:
                continue
            times = np.array([t.timestamp() for t, _ in rows])
            values = np.array([v for _, v in rows], dtype="float64")
            stamps = (times * 1e9).astype("int64").astype("datetime64[ns]")
            frame = daily_rollups(stamps, values, tz=patient.timezone)
            if kind == "cgm":  # each day's own interval and slots (issue #17)
                frame = frame.join(daily_wear(stamps, tz=patient.timezone))
            rollups_add(
                patient_id=patient.pk,
                kind=kind,
                frame=frame,
                interval_minutes=DEFAULT_INTERVAL_MINUTES,
            )
        readings_changed.send(sender=None, patient_id=patient.pk)  # triage: from the rollups


def upload_finish(upload: Upload, result: IngestResult, *, fmt: str, warnings: list[str]) -> None:
    upload.format = fmt
    upload.accepted = result.accepted
    upload.duplicates = result.duplicates
    upload.rejected = sorted(result.rejected, key=lambda item: item["line"])
    upload.rejected_total = result.rejected_total
    upload.rejected_by_reason = result.rejected_by_reason
    upload.treatments_count = result.treatments
    upload.warnings = list(warnings) + result.warnings
    upload.status = Upload.Status.DONE
    upload.processed_bytes = upload.size_bytes
    upload.finished_at = timezone.now()
    upload.save()


# --- uploads ------------------------------------------------------------------------------------

CRASH_REASON = "the import stopped on an internal error; nothing from this file was stored"


def upload_create(
    *,
    patient,
    by,
    file,
    filename: str,
    requested_format: str = "auto",
    timezone: str | None = None,
    source: str = "file",
) -> Upload:
    """Store an incoming file as a pending Upload; ``upload_process`` imports it.

    ``file`` is bytes, a path or an open (Django or binary) file. ``by`` is the person who
    brought it (``None`` for a device or the command line).
    """
    if isinstance(file, bytes | bytearray):
        content = ContentFile(bytes(file))
    elif isinstance(file, str | os.PathLike):
        content = File(open(file, "rb"))  # noqa: SIM115  (closed below)
    else:
        content = file if isinstance(file, File) else File(file)
    name = os.path.basename(filename or getattr(content, "name", "") or "upload")[:255]
    upload = Upload(
        patient=patient,
        uploaded_by=by if getattr(by, "pk", None) else None,
        filename=name,
        source=source,
        requested_format=requested_format or "auto",
        timezone=timezone or "",
    )
    try:
        upload.file.save(name, content, save=False)
    finally:
        if isinstance(file, str | os.PathLike):
            content.close()
    upload.size_bytes = upload.file.size
    upload.save()
    return upload


def upload_process(*, upload_id: int) -> Upload | None:
    """Import a pending upload once; safe to run twice (the second run does nothing).

    The upload is claimed with a conditional update (pending -> processing), so two workers
    given the same id never both import it. An unreadable file or a crash half-way leaves
    nothing behind but the upload, marked failed with the reason. A crash is re-raised after
    marking so it is still logged and reported by whoever called.

    On PostgreSQL everything the file adds (readings, treatments, rollups) is written in one
    transaction. SQLite has one writer at a time: one long transaction would hold every
    sign-in ("database is locked") for the whole import, so there each chunk commits on its
    own and a failure removes what this upload added (its readings and treatments, then the
    patient's rollups rebuilt) instead of rolling back.
    """
    now = timezone.now()
    claim = {
        "status": Upload.Status.PROCESSING,
        "claimed_at": now,
        "progress_at": now,
        "attempts": F("attempts") + 1,
        "processed_rows": 0,
        "processed_bytes": 0,
    }
    claimed = Upload.objects.filter(pk=upload_id, status=Upload.Status.PENDING).update(**claim)
    reclaimed = False
    if not claimed:
        # A redelivered message (its worker was killed) takes over an import that has shown no
        # sign of life for the stale period: the dead worker's transaction was rolled back.
        cutoff = now - upload_stale_after()
        reclaimed = claimed = (
            Upload.objects.filter(
                pk=upload_id, status=Upload.Status.PROCESSING, attempts__lt=upload_max_attempts()
            )
            .filter(Q(progress_at__lt=cutoff) | Q(progress_at=None, claimed_at__lt=cutoff))
            .update(**claim)
        )
    if not claimed:
        return None
    upload = Upload.objects.select_related("patient").get(pk=upload_id)
    patient = upload.patient
    chunked = connection.vendor == "sqlite"
    if reclaimed and chunked:
        _upload_undo(upload)  # chunks the dead worker committed
    try:
        with upload.file.open("rb") as binary:
            parsed = parse(
                binary,
                format=upload.requested_format,
                timezone=upload.timezone or patient.timezone,
            )
            progress = _Progress(upload_id, binary)
            if chunked:
                with _parsed_ahead(parsed.items()) as items:
                    result = _ingest_committing_each_chunk(patient, items, upload, progress)
                upload_finish(upload, result, fmt=parsed.format, warnings=parsed.warnings)
            else:
                with transaction.atomic(), _parsed_ahead(parsed.items()) as items:
                    result = readings_ingest(
                        patient=patient, items=items, upload=upload, on_progress=progress
                    )
                    upload_finish(upload, result, fmt=parsed.format, warnings=parsed.warnings)
    except UnreadableFile as exc:
        if chunked:
            _upload_undo(upload)
        return _upload_fail(upload, str(exc))
    except Exception:
        logger.exception("upload %s failed", upload_id)
        if chunked:
            _upload_undo(upload)
        _upload_fail(upload, CRASH_REASON)
        raise
    if file_no_longer_needed(upload):
        name = upload.file.name
        transaction.on_commit(lambda: upload_file_remove(upload_id=upload_id, name=name))
    return upload


def file_no_longer_needed(upload: Upload) -> bool:
    """A device file is kept only while it may still be needed (issue #12, item 16).

    - imported cleanly (done, no rejected row): not needed — deleted as soon as the import
      commits. Its readings stay, and a re-upload of the same file is still recognised: the
      duplicate check is the readings' own identity (patient, kind, instant), never the file;
    - done with rejected rows, or failed: kept ``UPLOAD_RETENTION_DAYS`` after it finished, so
      the person who sent it (or support) can look into why; then ``uploads_sweep`` deletes it;
    - waiting or importing: needed.

    Files are written 0600 in 0700 directories (``FILE_UPLOAD_PERMISSIONS``): only the
    application's own user can read them.
    """
    if not upload.file or upload.status != Upload.Status.DONE:
        return False
    return upload.rejected_count == 0


def upload_file_remove(*, upload_id: int, name: str) -> None:
    """Delete an upload's file on disk and forget its name (safe to run twice)."""
    from django.core.files.storage import default_storage

    default_storage.delete(name)
    Upload.objects.filter(pk=upload_id, file=name).update(file="")


def _ingest_committing_each_chunk(
    patient, items: Iterator, upload: Upload, progress
) -> IngestResult:
    """``readings_ingest`` one chunk per transaction (SQLite: the write lock is released
    between chunks, so sign-ins and other writes get their turn during a long import)."""
    total = IngestResult()
    for chunk in _chunks(items, CHUNK_SIZE):
        with transaction.atomic():
            part = readings_ingest(
                patient=patient, items=chunk, upload=upload, on_progress=progress
            )
        total.accepted += part.accepted
        total.duplicates += part.duplicates
        total.treatments += part.treatments
        total.conflicts += part.conflicts
        total.warnings += part.warnings
        room = None if total.limit is None else max(total.limit - len(total.rejected), 0)
        total.rejected += part.rejected if room is None else part.rejected[:room]
        total.rejected_total += part.rejected_total
        for reason, count in part.rejected_by_reason.items():
            total.rejected_by_reason[reason] = total.rejected_by_reason.get(reason, 0) + count
    return total


def _upload_undo(upload: Upload) -> None:
    """Remove what a chunked import of ``upload`` committed before it failed."""
    with transaction.atomic():
        Reading.objects.filter(upload_id=upload.pk).delete()
        Treatment.objects.filter(upload_id=upload.pk).delete()
    rollups_rebuild(patient=upload.patient)


PROGRESS_EVERY_SECONDS = 1.0


class _Progress:
    """Rows read and bytes of the file consumed, written where a polling page can see them.

    The import is one transaction, so progress written inside it would stay invisible until
    the end. It is written instead from a short-lived thread, which Django gives its own
    database connection: outside the import's transaction, committed at once (issue #11,
    item 18). It is also the upload's sign of life for ``uploads_sweep``. SQLite allows one
    writer at a time (the import holds it), so there the bar stays indeterminate.
    """

    def __init__(self, upload_id: int, binary):
        self.upload_id = upload_id
        self.binary = binary
        self.last = 0.0

    def __call__(self, rows: int) -> None:
        _test_delay()
        now = time.monotonic()
        if now - self.last < PROGRESS_EVERY_SECONDS or connection.vendor == "sqlite":
            return
        self.last = now
        try:
            position = self.binary.tell()
        except (OSError, ValueError):
            position = 0
        writer = threading.Thread(target=self._write, args=(rows, position), daemon=True)
        writer.start()
        writer.join()

    def _write(self, rows: int, position: int) -> None:
        try:
            Upload.objects.filter(pk=self.upload_id, status=Upload.Status.PROCESSING).update(
                processed_rows=rows, processed_bytes=position, progress_at=timezone.now()
            )
        except Exception:  # noqa: BLE001  (progress is best effort; the import goes on)
            logger.warning("upload %s: progress not written", self.upload_id, exc_info=True)
        finally:
            connection.close()


def _test_delay() -> None:
    """Test-only: UPLOAD_TEST_DELAY_SECONDS makes each chunk slow so a broker test can kill
    the worker in the middle of an import (tests/readings/test_broker.py). Unset in production."""
    seconds = float(os.environ.get("UPLOAD_TEST_DELAY_SECONDS") or 0)
    if seconds > 0:
        time.sleep(seconds)


@contextmanager
def _parsed_ahead(items: Iterator, size: int = CHUNK_SIZE) -> Iterator[Iterator]:
    """``items`` again, parsed a chunk ahead by a helper thread while the last one is stored.

    Parsing is pure Python (no Django, no thread-local state: ``readings.parsers``), so it can
    run while this thread waits for the database (COPY, commit): an upload then takes about the
    longer of the two instead of their sum. The helper parses one chunk and waits until it is
    taken before parsing the next, so at most two chunks are in memory, whatever the file.
    Leaving the block stops the helper and waits for it: it never outlives the file.
    A parser error is raised here, after the whole chunks read before it (the import stops).
    """
    ready: queue.Queue = queue.Queue(maxsize=1)
    stop = threading.Event()
    done = object()

    def produce() -> None:
        try:
            for chunk in _chunks(items, size):
                ready.put(chunk)
                ready.join()  # until taken: one chunk ahead, no more
                if stop.is_set():
                    break
        except BaseException as exc:  # handed over to the reading thread
            ready.put(exc)
        ready.put(done)

    finished = False

    def take():
        got = ready.get()
        ready.task_done()
        return got

    def consume() -> Iterator:
        nonlocal finished
        while (got := take()) is not done:
            if isinstance(got, BaseException):
                finished = take() is done
                raise got
            yield from got
        finished = True

    helper = threading.Thread(target=produce, name="upload-parser", daemon=True)
    helper.start()
    try:
        yield consume()
    finally:
        stop.set()
        while not finished:  # let a helper waiting for its chunk to be taken reach its end
            finished = take() is done
        helper.join()


def _upload_fail(upload: Upload, reason: str) -> Upload:
    upload.status = Upload.Status.FAILED
    upload.error = reason
    upload.accepted = upload.duplicates = upload.treatments_count = 0
    upload.rejected = []
    upload.finished_at = timezone.now()
    Upload.objects.filter(pk=upload.pk).update(
        status=upload.status,
        error=reason,
        accepted=0,
        duplicates=0,
        treatments_count=0,
        rejected=[],
        finished_at=upload.finished_at,
    )
    return upload


def upload_stale_after() -> dt.timedelta:
    """``UPLOAD_STALE_AFTER_SECONDS`` (default 10 minutes): an import with no progress for
    this long is taken to be dead (its worker was killed) and may be taken over."""
    return dt.timedelta(seconds=settings.UPLOAD_STALE_AFTER_SECONDS)


def upload_max_attempts() -> int:
    """``UPLOAD_MAX_ATTEMPTS`` (default 2): imports started before an upload is failed."""
    return settings.UPLOAD_MAX_ATTEMPTS


def upload_in_progress(*, upload_id: int) -> bool:
    """Being imported by someone, who may yet die and leave it to be taken over."""
    return Upload.objects.filter(
        pk=upload_id, status=Upload.Status.PROCESSING, attempts__lt=upload_max_attempts()
    ).exists()


STALE_REASON = (
    "the import stopped twice without finishing (its worker died); nothing from this file was"
    " stored. Try again, or split the file."
)


def uploads_sweep(
    *, now: dt.datetime | None = None, stale_after: dt.timedelta | None = None, enqueue=None
) -> dict:
    """Periodic (beat "readings: upload sweep"): recover uploads whose process died.

    An upload still "processing" (or "pending") with no sign of life for ``stale_after`` is
    re-queued once (conditional update: two sweeps never both re-queue it) and failed with a
    reason after ``UPLOAD_MAX_ATTEMPTS``. Files no longer needed are deleted
    (``file_no_longer_needed``): those of failed uploads and of uploads with rejected rows
    ``UPLOAD_RETENTION_DAYS`` after they finished, and any clean import's file left behind.
    Safe to run twice. ``enqueue(upload_id)`` defaults to the task.
    """
    from readings.tasks import process_upload

    now = now or timezone.now()
    cutoff = now - (upload_stale_after() if stale_after is None else stale_after)
    running = Q(status=Upload.Status.PROCESSING) | Q(status=Upload.Status.PENDING)
    quiet = Q(progress_at__lt=cutoff) | Q(progress_at=None, created_at__lt=cutoff)
    counts = {"requeued": 0, "failed": 0, "files_deleted": 0}
    for upload in Upload.objects.filter(running & quiet).order_by("pk"):
        if upload.attempts >= upload_max_attempts():
            if Upload.objects.filter(pk=upload.pk, status=upload.status).update(
                status=Upload.Status.FAILED, error=STALE_REASON, finished_at=now
            ):
                counts["failed"] += 1
            continue
        if Upload.objects.filter(
            pk=upload.pk, status=upload.status, progress_at=upload.progress_at
        ).update(status=Upload.Status.PENDING, progress_at=now):
            if enqueue is None:
                task_enqueue(process_upload, upload.pk)
            else:
                transaction.on_commit(lambda pk=upload.pk: enqueue(pk))
            counts["requeued"] += 1
    kept_until = now - dt.timedelta(days=settings.UPLOAD_RETENTION_DAYS)
    finished = Q(status=Upload.Status.FAILED) | Q(status=Upload.Status.DONE)
    expired = finished & Q(finished_at__lt=kept_until)
    clean = Q(status=Upload.Status.DONE, rejected_total=0, rejected=[])  # a missed deletion
    for pk, name in (
        Upload.objects.filter(expired | clean).exclude(file="").values_list("pk", "file")
    ):
        upload_file_remove(upload_id=pk, name=name)
        counts["files_deleted"] += 1
    return counts


def upload_enqueue(upload: Upload) -> None:
    """Process in the background once the upload row is committed (pretix's rule).

    Through the outbox: with the broker down the upload is still accepted, and the import
    runs once the broker is back (``outbox.services``)."""
    from readings.tasks import process_upload

    task_enqueue(process_upload, upload.pk)


# --- Nightscout link ------------------------------------------------------------------------


@transaction.atomic
def device_token_issue(*, patient, name: str, scope: str, by) -> tuple:
    """Issue a device token, audited; a read token is the patient's consent to share with
    follower apps, recorded with it (one transaction: no token without its consent).
    Returns ``(token, plain key)``; the key exists only in this answer."""
    from accounts.access import audit
    from patients.consent import consent_record
    from readings.models import DeviceToken

    token, key = DeviceToken.issue(patient=patient, name=name, scope=scope)
    audit(by, patient, "change", f"device token {token.pk} issued ({token.scope})")
    if token.scope == DeviceToken.Scope.READ:  # the box the patient ticked is their consent
        consent_record(patient=patient, topic="follower_apps", given=True, by=by)
    return token, key


def nightscout_link_ensure(*, patient) -> NightscoutLink:
    """The patient's Nightscout link, created on first use (key and secret are random).

    Only a link created by this call carries its plain secret (``link.api_secret``); an
    existing one has ``api_secret = None``: the secret is stored hashed and cannot be shown
    again (``nightscout_link_rotate`` issues a new one).
    """
    link = NightscoutLink.objects.filter(patient=patient).first()
    if link is None:
        fresh = NightscoutLink(patient=patient, key=secrets.token_hex(12))
        secret = fresh.set_secret()
        link, created = NightscoutLink.objects.get_or_create(
            patient=patient, defaults={"key": fresh.key, "secret_hash": fresh.secret_hash}
        )
        if created:
            link.api_secret = secret
    return link


def nightscout_link_rotate(*, patient) -> NightscoutLink:
    """A new API secret (on ``link.api_secret``, this once); the key (and so the base URL)
    stays, the old secret stops working."""
    link = nightscout_link_ensure(patient=patient)
    link.set_secret()
    link.rotated_at = timezone.now()
    link.save(update_fields=["secret_hash", "rotated_at"])
    return link


def nightscout_base_url(link: NightscoutLink) -> str:
    """Absolute base URL an uploader app is given (``SITE_URL`` + ``/ns/<key>/``)."""
    return settings.SITE_URL + reverse("nightscout-root", args=[link.key])


# --- a patient's time zone changes ------------------------------------------------------------


def rollups_rebuild_for(*, patient_id: int) -> None:
    """``rollups_rebuild`` by id (the Celery task's body); a vanished patient is no error."""
    from patients.models import Patient

    patient = Patient.objects.filter(pk=patient_id).first()
    if patient is not None:
        rollups_rebuild(patient=patient)


def patient_zone_remember(sender, instance, **kwargs) -> None:
    """pre_save: note the stored zone, so post_save knows whether it changed."""
    if instance.pk is None:
        instance._stored_timezone = None
        return
    instance._stored_timezone = (
        sender.objects.filter(pk=instance.pk).values_list("timezone", flat=True).first()
    )


def patient_zone_changed(sender, instance, created, **kwargs) -> None:
    """post_save: a changed zone rebuilds the rollups in a task, once the change is committed."""
    before = getattr(instance, "_stored_timezone", None)
    if created or before is None or before == instance.timezone:
        return
    from readings.tasks import rebuild_rollups

    task_enqueue(rebuild_rollups, instance.pk)
