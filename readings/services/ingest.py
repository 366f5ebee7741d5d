"""Ingestion: store every reading once, keep daily rollups exact, report every bad row.

The one write path for glucose, used by file uploads, the REST batch API, the Nightscout API,
FHIR and the demo seeder:

    parse (readings.parsers) → readings_ingest → [chunk: devices, insert (one COPY for many
    chunks, or ON CONFLICT DO NOTHING), conflicts, rollup deltas] → IngestResult

Why this shape:
- uniqueness is the database's job (constraint ``reading_unique_instant``: one reading per
  patient, kind and instant, whichever device sent it — see ``readings.models``); a chunk is
  inserted with ``ON CONFLICT DO NOTHING RETURNING`` so duplicates and concurrent uploads of
  the same file are absorbed without a query per row, and we learn exactly which rows were new;
- rollups are additive (count, sums, band counts, min/max), so the rows that were really inserted
  are folded into ``DailyRollup`` with an ``ON CONFLICT DO UPDATE`` — correct under concurrency;
- on PostgreSQL the chunks of a new file are first tried with one plain binary ``COPY``
  straight into the readings table, inside a savepoint (``_Stream``): each chunk's rows are
  encoded and its rollup inputs gathered in one pass (``_encode_batch``) and written while the
  server inserts the chunk before; most files are new data, and then that is all it costs —
  one COPY, like a bulk load, then the chunks' refused rows, repeats, treatments and rollups
  in file order. A unique violation (a re-upload, an overlap, a concurrent upload of the same
  file) rolls back to the savepoint and those chunks are stored one by one (``_store``): a
  COPY of the chunk alone, else the conflict-handling path, ``COPY`` into a temporary staging
  table and one ``INSERT … SELECT … ON CONFLICT DO NOTHING``. Once a chunk had duplicates the
  next ones go straight to that path, until one has none;
- the readings' foreign keys (patient, device) keep Django's mode, checked at COMMIT: the same
  checks run per statement (``SET CONSTRAINTS … IMMEDIATE``) cost PostgreSQL 15 about a fifth
  more of the server's time (#23, 90-day file: 300-330 ms of CPU against 255-275), and ran as
  the COPY ended, after the parsing of its 30,000 readings, with nothing left to overlap;
- memory is bounded by the chunk size and, on PostgreSQL, by the readings one COPY holds
  (``COPY_STREAM_ROWS``, ``COPY_STREAM_RECORDS``), whatever the file size;
- callers wrap the call in ``transaction.atomic()``: a crash leaves nothing half-written.
"""

from __future__ import annotations

import datetime as dt
import re
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

import numpy as np
from django.db import connection, transaction
from django.utils import timezone

from common.metrics import READINGS_INGESTED
from readings.models import Treatment, Upload
from readings.parsers import ReadingBatch, UnreadableFile
from readings.parsers._units import CGM_LOWEST_MG_DL, SENSOR_KINDS, sensor_value_problem
from readings.services.inserts import (
    _COPY_SIGNATURE,
    _COPY_TRAILER,
    _Batch,
    _conflicts,
    _copy_direct,
    _CopyStream,
    _Devices,
    _encode_batch,
    _insert_generic,
    _insert_staged,
    _rows,
    _series,
    _utc,
    expanded,
)
from readings.services.rollups import (
    EPOCH,
    StoredCgm,
    _fold_into_rollups,
    _fold_statements,
    _one_writer_per_patient,
)
from readings.signals import readings_changed

CHUNK_SIZE = 5000
# Plausible time (DESIGN §3): nothing before the Unix epoch, nothing later than now + this
# (a device clock a little ahead is normal; a day ahead is a wrong clock or zone).
FUTURE_TOLERANCE = dt.timedelta(hours=1)
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
    span: tuple | None = None  # (first, last) instants of the readings given, for the floors above

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
    """Lists of items holding ``size`` rows each (the last one fewer): a ``ReadingBatch``
    counts its readings, and is cut where a chunk ends."""
    for chunk, _whole in _chunks_with_head(items, size, head=0):
        yield chunk


def _chunks_with_head(items: Iterable, size: int, *, head: int) -> Iterator[tuple[list, bool]]:
    """``(chunk, True)`` for ``_chunks(items, size)``'s chunks; before the first one, once its
    first ``head`` rows (whole items: at least ``head``, fewer than ``size``) are read,
    ``(those items, False)`` — the same objects, which the first chunk then begins with."""
    chunk: list = []
    rows = 0
    for item in items:
        if type(item) is not ReadingBatch:
            chunk.append(item)
            rows += 1
        else:
            start, length = 0, len(item)
            while start < length:
                stop = min(length, start + size - rows)
                chunk.append(item if (start, stop) == (0, length) else item.part(start, stop))
                rows += stop - start
                start = stop
                if rows >= size:
                    yield chunk, True
                    chunk, rows, head = [], 0, 0
            if head and rows >= head:
                yield list(chunk), False
                head = 0
            continue
        if rows >= size:
            yield chunk, True
            chunk, rows, head = [], 0, 0
        elif head and rows >= head:
            yield list(chunk), False
            head = 0
    if chunk:
        yield chunk, True


def _rows_in(chunk: list) -> int:
    return sum(len(item) if type(item) is ReadingBatch else 1 for item in chunk)


def _opened(chunk: list, now: dt.datetime) -> Iterator:
    """Batches whose readings all pass ``_batch_checked`` stay whole; any other batch is
    opened into its readings, in order, each checked on its own (one refused reading)."""
    for item in chunk:
        if type(item) is ReadingBatch and not _batch_checked(item, now=now):
            yield from item.readings()
        else:
            yield item


def _batch_checked(batch: ReadingBatch, *, now: dt.datetime) -> bool:
    """Whether ``reading_checked`` passes every reading of ``batch`` (values in the table's
    range, no sensor value below 40 mg/dL, times from 1970 to now + the tolerance)."""
    if not len(batch):
        return True
    values = batch.values
    if not ((values > VALUE_LIMITS_MG_DL[0]) & (values <= VALUE_LIMITS_MG_DL[1])).all():
        return False
    if batch.kind in SENSOR_KINDS and not (values >= CGM_LOWEST_MG_DL).all():
        return False
    latest = (now + FUTURE_TOLERANCE - EPOCH) // _MICROSECOND
    return int(batch.micros.min()) >= 0 and int(batch.micros.max()) <= latest


_MICROSECOND = dt.timedelta(microseconds=1)


def readings_ingest(
    *,
    patient,
    items: Iterable,
    upload: Upload | None = None,
    chunk_size: int = CHUNK_SIZE,
    on_progress=None,
    rejected_limit: int | None = REJECTED_KEPT,
    notify: bool = True,
    early_rows: int = 0,
) -> IngestResult:
    """Store parsed items (readings, treatments, row errors) for ``patient``.

    ``items`` is any iterable of ``readings.parsers`` records (``Reading``, ``Treatment``,
    ``RowError``), consumed once, in chunks. Every reading is checked (``reading_checked``)
    before it is stored. Must run inside ``transaction.atomic()``. ``on_progress(rows)`` is
    called after each chunk with the number of records read so far. An upload that is junk
    from its first ``JUNK_ROWS`` rows on stops with ``UnreadableFile``. ``notify=False``: the
    caller sends ``readings_changed`` itself (once after many calls: SQLite's chunked import).
    ``early_rows`` (PostgreSQL; for ``items`` read while this runs, by a parser thread): the
    COPY starts as soon as the first chunk's first ``early_rows`` rows are read (``_stream_head``).
    """
    _one_writer_per_patient(patient.pk)
    result = IngestResult(limit=rejected_limit)
    devices = _Devices(patient.pk)
    # A file's import counts wear of days it alone fills from memory (a live post: one query).
    plan = _InsertPlan(stored=StoredCgm(patient.pk) if upload is not None else None)
    now = timezone.now()
    seen = 0
    first = last = None  # the span of the readings given, for the floors above (monitoring)
    stream = _Stream() if connection.vendor == "postgresql" else None
    chunks = _chunks_with_head(items, chunk_size, head=early_rows if stream is not None else 0)
    try:
        while True:
            try:
                chunk, whole = next(chunks)
            except StopIteration:
                break
            except BaseException as exc:
                # A parser error: what the chunks read before it would have done comes first
                # (a failed COPY's chunks, taken one by one, may find the file junk); the
                # first chunk's head alone is not a chunk read: taken back.
                if stream is not None and stream.head is not None:
                    stream.head = None
                    stream.copy.abort(exc)
                elif stream is not None and stream.copy.open:
                    _stream_end(stream, patient, devices, upload, result, plan)
                raise
            if not whole:
                _stream_head(stream, chunk, patient, devices, upload, now)
                del chunk
                continue
            seen += _rows_in(chunk)
            part = _sorted(chunk, now, seen)
            del chunk  # not kept alive while the next chunk is read
            if part.readings:
                low, high = _span(part.readings)
                first = low if first is None else min(first, low)
                last = high if last is None else max(last, high)
            streamed = stream is not None and _streamed(
                stream, part, patient, devices, upload, result, plan
            )
            if not streamed:
                _store(part, patient, devices, upload, result, plan)
            if on_progress is not None:
                on_progress(seen)
            if not streamed:
                _junk_check(upload, part.seen, result)
            elif stream.full():
                _stream_end(stream, patient, devices, upload, result, plan)
            del part
        if stream is not None and stream.copy.open:
            _stream_end(stream, patient, devices, upload, result, plan)
    except BaseException as exc:
        if stream is not None and stream.copy.open:
            stream.copy.abort(exc)
        raise
    result.span = (first, last)
    if result.accepted:
        # /metrics: counted once the readings are really stored (a rollback counts nothing).
        counter = READINGS_INGESTED.labels(source="file" if upload is not None else "live")
        transaction.on_commit(lambda n=result.accepted: counter.inc(n))
    if result.accepted and notify:
        # The triage entry (workspace) and remote monitoring's evaluation of the new readings
        # (monitoring.signals: by task name, through the outbox, after this transaction).
        readings_changed.send(sender=None, patient_id=patient.pk, span=result.span)
    return result


def _span(readings: list) -> tuple[dt.datetime, dt.datetime]:
    """The first and last instants of a chunk's readings (records and batches)."""
    moments = [_utc(r.timestamp) for r in readings if type(r) is not ReadingBatch]
    for batch in readings:
        if type(batch) is ReadingBatch and len(batch):
            moments.append(EPOCH + int(batch.micros.min()) * _MICROSECOND)
            moments.append(EPOCH + int(batch.micros.max()) * _MICROSECOND)
    return min(moments), max(moments)


@dataclass
class _Part:
    """A chunk sorted: readings to store (records and checked batches), treatments, refused
    rows as (line, reason) in file order, and the rows read by its end."""

    readings: list
    treatments: list
    rejected: list[tuple[int, str]]
    seen: int
    batch: _Batch | None = None  # its readings as written into a ``_Stream``'s COPY


def _sorted(chunk: list, now: dt.datetime, seen: int) -> _Part:
    part = _Part([], [], [], seen)
    for item in _opened(chunk, now):
        if type(item) is ReadingBatch:  # every reading passes the checks
            part.readings.append(item)
        elif hasattr(item, "value_mg_dl"):
            reading, problem = reading_checked(item, now=now)
            if problem is None:
                part.readings.append(reading)
            else:
                part.rejected.append((item.line, problem))
        elif hasattr(item, "amount"):
            problem = time_problem(item.timestamp, now=now)
            if problem is None:
                part.treatments.append(item)
            else:
                part.rejected.append((item.line, problem))
        else:
            part.rejected.append((item.line, item.reason))
    return part


def _store(part: _Part, patient, devices: _Devices, upload, result, plan) -> None:
    """A chunk on its own: refused rows, readings (``_insert_readings``), treatments."""
    for line, reason in part.rejected:
        result.reject(line, reason)
    upload_id = upload.pk if upload else None
    if part.readings:
        _insert_readings(patient, part.readings, devices, upload_id, result, plan)
    if part.treatments:
        result.treatments += _insert_treatments(patient, part.treatments, devices, upload_id)


def _junk_check(upload, seen: int, result: IngestResult) -> None:
    """An upload that is junk from its first ``JUNK_ROWS`` rows on stops here."""
    if upload is not None and seen >= JUNK_ROWS and result.rejected_total >= seen * 0.9:
        if not (result.accepted or result.duplicates or result.treatments):
            raise UnreadableFile(_junk_reason(seen, result))


# PostgreSQL: chunks written into one COPY (``_Stream``), ended after this many readings, or
# this many ``Reading`` records (a parser's records, about half a kilobyte each, are kept in
# case the COPY meets stored rows; a columnar batch's readings take about 50 bytes). 30,000: a
# 90-day CGM file (25,920) is one COPY, and a longer one peaks at the same memory (bench
# ingest: 2-year Dexcom file 6.6 MiB; 9.4-10 MiB with 50,000).
COPY_STREAM_ROWS = 30_000
COPY_STREAM_RECORDS = 10_000


@dataclass
class _Stream:
    """The chunks written into the open ``_CopyStream`` and not yet counted in the result.

    Chunks whose readings are all new (most files) cost one COPY between them; their refused
    rows, repeats, treatments and rollups are applied, chunk by chunk in file order, once it
    ends. If it meets a stored row nothing of it is kept, and its chunks are stored one by one
    (``_store``) exactly as without it.
    """

    copy: _CopyStream = field(default_factory=_CopyStream)
    parts: list[_Part] = field(default_factory=list)
    rows: int = 0
    records: int = 0
    head: bytes | None = None  # the first chunk's first rows, written before it was read whole

    def full(self) -> bool:
        return self.rows >= COPY_STREAM_ROWS or self.records >= COPY_STREAM_RECORDS


def _streamed(
    stream: _Stream, part: _Part, patient, devices: _Devices, upload, result, plan
) -> bool:
    """Whether ``part`` went into the stream's COPY (PostgreSQL, a new file). When it did
    not, the COPY is closed: the caller stores the part on its own."""
    if not plan.direct:  # the last chunk met stored rows (never while a COPY is open)
        return False
    if not part.readings:
        if stream.copy.open:  # refused rows and treatments, applied in order when it ends
            stream.parts.append(part)
            return True
        return False
    upload_id = upload.pk if upload else None
    batch = _encode_batch(
        patient.pk, part.readings, devices, upload_id, new_devices=not stream.copy.open
    )
    written = 0  # bytes of its rows in the COPY already: its head's
    if stream.head is not None:
        written = _head_kept(stream, batch)
        if not written:  # taken back: the chunk on its own, as without its head
            batch = _encode_batch(patient.pk, part.readings, devices, upload_id)
    if batch is None:  # a device to create first: not while the COPY is open
        _stream_end(stream, patient, devices, upload, result, plan)
        if not plan.direct:
            return False
        batch = _encode_batch(patient.pk, part.readings, devices, upload_id)
    if not stream.copy.open:
        stream.copy.start()
    stream.copy.write(batch, skip=written)
    batch.data = b""  # sent
    part.batch = batch
    stream.parts.append(part)
    stream.rows += batch.count
    stream.records += sum(type(r) is not ReadingBatch for r in part.readings)
    return True


# The first chunk's rows after which its COPY starts (``_stream_head``): the Dexcom and plain
# CSV parsers read a file's first rows in a block of about this many, and a chunk is 5,000.
EARLY_ROWS = 1000


def _stream_head(stream: _Stream, items: list, patient, devices: _Devices, upload, now) -> None:
    """The first chunk's first items (``_chunks_with_head``), written into the COPY before the
    rest is read (#23): the server starts inserting while the parser thread reads the rest.

    Nothing of it is counted: the whole chunk, once read, is sorted and encoded as ever
    (``_streamed``), and its encoding begins with exactly these bytes (its first rows in file
    order: a reading repeated later in the chunk is kept at its first sight), so only the
    rest is written (``_head_kept``). The devices these rows name are created first, as
    the chunk's encoding would create them, in the same order."""
    part = _sorted(items, now, 0)
    if not part.readings:
        return
    upload_id = upload.pk if upload else None
    batch = _encode_batch(patient.pk, part.readings, devices, upload_id)
    if not batch.count:
        return
    stream.copy.start()
    stream.copy.write(batch)
    stream.head = batch.data[len(_COPY_SIGNATURE) : len(batch.data) - len(_COPY_TRAILER)]


class _HeadTakenBack(Exception):
    """The first chunk named a device its head did not: the head's COPY is left (the device
    is created, then the chunk written whole, as without the head)."""


def _head_kept(stream: _Stream, batch) -> int:
    """The bytes of the first chunk's encoding already written (its head's, ``_stream_head``)
    when it begins with them; else the COPY is left (nothing of it stored) and 0."""
    head, stream.head = stream.head, None
    start = len(_COPY_SIGNATURE)
    if batch is not None and batch.data[start : start + len(head)] == head:
        return len(head)
    stream.copy.abort(_HeadTakenBack())
    return 0


def _stream_end(stream: _Stream, patient, devices: _Devices, upload, result, plan) -> None:
    """End the stream's COPY and count its chunks (see ``_Stream``)."""
    parts, stream.parts, stream.rows, stream.records = stream.parts, [], 0, 0
    # The rollups of the readings, if they are all stored, are worked out by a helper thread
    # while this one waits for the COPY's end (the server inserting the last rows, then
    # checking their keys): pure numpy, no query (``memory_only``).
    series, cgm = _stream_series(parts)
    folding = _Helper(
        _fold_statements, patient, series, cgm_micros=cgm, stored=plan.stored, memory_only=True
    )
    stored_all = stream.copy.end()
    statements = folding.result()
    if not stored_all:  # some row is stored already: chunk by chunk, as without it
        for part in parts:
            part.batch = None
            _store(part, patient, devices, upload, result, plan)
            _junk_check(upload, part.seen, result)
        return
    upload_id = upload.pk if upload else None
    for part in parts:  # the junk check passes: the first part's readings were stored
        for line, reason in part.rejected:
            result.reject(line, reason)
        if part.batch is not None:
            result.accepted += part.batch.count
            _repeats_counted(part.batch.repeated, result)
        if part.treatments:
            result.treatments += _insert_treatments(patient, part.treatments, devices, upload_id)
    _fold_into_rollups(patient, series, cgm_micros=cgm, stored=plan.stored, statements=statements)


class _Helper(threading.Thread):
    """``function(*args, **kwargs)`` run by a thread of its own; ``result()`` waits for it
    and answers its value (or raises its error)."""

    def __init__(self, function, *args, **kwargs):
        super().__init__(name="ingest-helper", daemon=True)
        self._call = (function, args, kwargs)
        self._value = self._error = None
        self.start()

    def run(self) -> None:
        function, args, kwargs = self._call
        try:
            self._value = function(*args, **kwargs)
        except BaseException as exc:  # handed over to result()
            self._error = exc

    def result(self):
        self.join()
        if self._error is not None:
            raise self._error
        return self._value


def _stream_series(parts: list[_Part]):
    """The stream's readings as ``_fold_into_rollups`` takes them: each chunk's series (per
    rolled-up kind, epoch seconds and values) in file order; and all the CGM instants (µs)."""
    batches = [part.batch for part in parts if part.batch is not None]
    cgm = [batch.rolled_up["cgm"][0] for batch in batches if "cgm" in batch.rolled_up]
    return [batch.series() for batch in batches], (np.concatenate(cgm) if cgm else None)


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
    stored: StoredCgm | None = None  # what this import finds stored (set up before it inserts)


def _insert_readings(
    patient, readings: list, devices: _Devices, upload_id, result, plan: _InsertPlan
) -> None:
    if connection.vendor == "postgresql" and plan.direct:
        batch = _encode_batch(patient.pk, readings, devices, upload_id)
        if _copy_direct(batch.data):
            result.accepted += batch.count
            _repeats_counted(batch.repeated, result)
            cgm = batch.rolled_up.get("cgm")
            _fold_into_rollups(
                patient,
                batch.series(),
                cgm_micros=None if cgm is None else cgm[0],
                stored=plan.stored,
            )
            return
        del batch  # some rows are already stored: the conflict-handling path below
    readings = expanded(readings)
    rows, repeated = _rows(patient.pk, readings, devices, upload_id)
    if connection.vendor == "postgresql":
        inserted, skipped = _insert_staged(rows)
        plan.direct = not skipped
    else:
        inserted, skipped = _insert_generic(rows)
    result.accepted += len(inserted)
    _repeats_counted(skipped + repeated, result)
    cgm = [row[3] for row in inserted if row[5] == "cgm"]
    _fold_into_rollups(
        patient,
        _series(inserted),
        cgm_micros=np.array([(_utc(t) - EPOCH) // _MICROSECOND for t in cgm], dtype=np.int64),
        stored=plan.stored,
    )


def _repeats_counted(not_inserted: list[tuple], result: IngestResult) -> None:
    """Rows not inserted (stored already, or repeated in the file): a duplicate when the stored
    reading has the same value, else a conflict, reported with both values."""
    if not not_inserted:
        return
    conflicts = _conflicts(not_inserted)
    result.duplicates += len(not_inserted) - len(conflicts)
    result.conflicts += len(conflicts)
    for row in conflicts:
        result.reject(row["line"], row["reason"], stored=row["stored"])


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
