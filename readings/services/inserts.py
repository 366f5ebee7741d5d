"""Writing a chunk of readings into the table: rows and devices, the plain multi-row INSERT
(SQLite), binary COPY straight in or through a staging table (PostgreSQL), and the stored
twins of rows not inserted (conflicts). Called by ``ingest.readings_ingest`` only.
"""

from __future__ import annotations

import datetime as dt
import struct
from contextlib import ExitStack
from dataclasses import dataclass

import numpy as np
from django.db import IntegrityError, connection, transaction

from readings.models import ALREADY_STORED, Device, Reading
from readings.parsers import ReadingBatch
from readings.parsers._records import FLAGS
from readings.services.rollups import ROLLED_UP_KINDS

CONFLICT_TOLERANCE_MG_DL = 0.5  # same identity, values closer than this are the same reading


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
            self.ids[identity] = self._created(identity, kind)
        return self.ids[identity]

    def _created(self, identity: str, kind: str) -> int:
        """The id of a device not among those read at the start: inserted, or, should it
        have been stored since (the import holds the patient's row lock, so only a writer
        outside imports could), the stored one's, left as it is. One statement
        (``INSERT … ON CONFLICT DO UPDATE … RETURNING``, identity set to itself) instead of
        ``get_or_create``'s four (SELECT, SAVEPOINT, INSERT, RELEASE): the first device of a
        file is created just before its COPY starts, while the parser thread holds the
        interpreter for all but the moments it lets go (#23)."""
        device = Device(
            patient_id=self.patient_id,
            identity=identity,
            kind="cgm" if kind in ("cgm", "scan") else "meter" if kind else "",
        )
        Device.objects.bulk_create(
            [device],
            update_conflicts=True,
            unique_fields=["patient", "identity"],
            update_fields=["identity"],
        )
        if device.pk is None:  # a database that answers no ids for an upsert
            device = Device.objects.get(patient_id=self.patient_id, identity=identity)
        return device.pk

    def known(self, identity: str) -> bool:
        """Whether ``id_for(identity, …)`` answers without a query."""
        return (identity or "")[:200] in self.ids


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
_UNIX_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


@dataclass
class _Batch:
    """A chunk's readings as binary ``COPY`` data for ``_COLUMNS``, built in one pass.

    ``repeated`` are table rows (``_rows``' form) of in-file repeats of an identity, which are
    not in ``data``; ``rolled_up`` holds, per rolled-up kind, the µs since 1970 and the values
    of the rows in ``data``, in file order.
    """

    data: bytes
    count: int
    repeated: list[tuple]
    rolled_up: dict[str, tuple[np.ndarray, np.ndarray]]

    def series(self) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        """``_series``' form: per kind, UTC epoch seconds (exactly ``datetime.timestamp()``:
        µs below 2**53 are exact doubles and both divide them correctly rounded) and values."""
        return {
            kind: (micros / 1e6, values)
            for kind, (micros, values) in self.rolled_up.items()
            if len(micros)
        }


def expanded(readings: list) -> list:
    """``readings`` with every ``ReadingBatch`` as its ``Reading`` records."""
    if not any(type(r) is ReadingBatch for r in readings):
        return readings
    out = []
    for r in readings:
        if type(r) is ReadingBatch:
            out.extend(r.readings())
        else:
            out.append(r)
    return out


def _columns(readings: list):
    """A chunk's readings (``Reading`` records and ``ReadingBatch`` runs) as columns: lines,
    µs since 1970 (UTC), values, a shape code per row, and the shapes ((identity, kind, flag,
    meal tag), by code). Records are converted one by one, batches as whole arrays."""
    shapes: dict[tuple, int] = {}
    lines, micros, values, codes = [], [], [], []
    records: list = []  # per row, its Reading record (None for a batch's rows)
    pending: list = []  # consecutive records, converted together

    def flush() -> None:
        if not pending:
            return
        row_shapes = []
        stamps = []
        for r in pending:
            key = (r.device_key or r.device, r.kind, r.flag, r.meal_tag)
            code = shapes.get(key)
            if code is None:
                code = shapes[key] = len(shapes)
            row_shapes.append(code)
            timestamp = r.timestamp
            if timestamp.tzinfo is None:  # records are UTC; a naive one is read as such
                timestamp = timestamp.replace(tzinfo=dt.UTC)
            stamps.append((timestamp - _UNIX_EPOCH) // _MICROSECOND)
        lines.append(np.array([r.line for r in pending], dtype=np.int64))
        micros.append(np.array(stamps, dtype=np.int64))
        values.append(np.array([float(r.value_mg_dl) for r in pending], dtype=np.float64))
        codes.append(np.array(row_shapes, dtype=np.int64))
        records.extend(pending)
        pending.clear()

    for r in readings:
        if type(r) is not ReadingBatch:
            pending.append(r)
            continue
        flush()
        if not len(r):
            continue
        # (device, flag) pairs of the batch, each to its shape code.
        combined = r.device_codes.astype(np.int64) * len(FLAGS) + r.flags
        pairs, inverse = np.unique(combined, return_inverse=True)
        firsts = np.full(len(pairs), len(combined))
        np.minimum.at(firsts, inverse, np.arange(len(combined)))
        mapping = np.zeros(len(pairs), dtype=np.int64)
        for n in np.argsort(firsts, kind="stable").tolist():  # shapes in order of first sight
            device, key = r.devices[int(pairs[n]) // len(FLAGS)]
            shape = (key or device, r.kind, FLAGS[int(pairs[n]) % len(FLAGS)], r.meal_tag)
            code = shapes.get(shape)
            if code is None:
                code = shapes[shape] = len(shapes)
            mapping[n] = code
        lines.append(np.asarray(r.lines, dtype=np.int64))
        micros.append(np.asarray(r.micros, dtype=np.int64))
        values.append(np.asarray(r.values, dtype=np.float64))
        codes.append(mapping[inverse])
        records.extend([None] * len(r))
    flush()
    return (
        np.concatenate(lines),
        np.concatenate(micros),
        np.concatenate(values),
        np.concatenate(codes),
        list(shapes),
        records,
    )


def _encode_batch(
    patient_id: int, readings: list, devices: _Devices, upload_id, *, new_devices: bool = True
) -> _Batch | None:
    """Readings → binary COPY rows, skipping in-file repeats (see ``_rows``), with numpy.

    ``new_devices=False``: None, before any query, when a reading names a device not stored yet
    (while a ``_CopyStream`` is open the connection can send nothing else).

    Every field but the timestamp and the value is the same for all readings of one device,
    kind, flag and meal tag (a "shape"; a file has a handful), so each shape's bytes before and
    after those two are encoded once and its rows are laid out as a numpy record array. This
    is the same encoding psycopg's ``write_row`` produces, without Python work per row.
    """
    encoding = connection.connection.info.encoding
    lines, micros, values, codes, shapes, records = _columns(readings)
    if not new_devices and not all(devices.known(shape[0]) for shape in shapes):
        return None
    # Shapes in order of first sight (devices are created in that order, as row by row).
    encoded = [_shape(patient_id, shape, devices, upload_id, encoding) for shape in shapes]
    kinds = sorted({shape[1] for shape in shapes})
    kind_of_shape = np.array([kinds.index(shape[1]) for shape in shapes], dtype=np.int64)
    row_kinds = kind_of_shape[codes]
    # One reading per kind and instant: the first in file order (any device) is kept.
    keep = np.zeros(len(micros), dtype=bool)
    for k in range(len(kinds)):
        rows = np.flatnonzero(row_kinds == k)
        _, first = np.unique(micros[rows], return_index=True)
        keep[rows[first]] = True
    repeated = []
    for n in np.flatnonzero(~keep).tolist():
        identity, kind, flag, meal_tag = shapes[codes[n]]
        record = records[n]
        if record is None:  # a batch's reading: a UTC instant
            timestamp = _UNIX_EPOCH + int(micros[n]) * _MICROSECOND
        else:  # the record's own (aware) timestamp, as row by row
            timestamp = record.timestamp
            if timestamp.tzinfo is None:
                timestamp = timestamp.replace(tzinfo=dt.UTC)
        row = (int(lines[n]), patient_id, encoded[codes[n]][2], timestamp, float(values[n]))
        repeated.append((*row, kind, flag or "", meal_tag or "", upload_id))
    micros, values, codes, row_kinds = micros[keep], values[keep], codes[keep], row_kinds[keep]
    count = len(micros)
    stamps = micros - _PG_EPOCH_UNIX_US
    lengths = np.array([len(prefix) + 20 + len(suffix) for prefix, suffix, _ in encoded])
    row_lengths = lengths[codes]
    ends = np.cumsum(row_lengths) + len(_COPY_SIGNATURE)
    out = np.empty(len(_COPY_SIGNATURE) + int(row_lengths.sum()) + len(_COPY_TRAILER), np.uint8)
    out[: len(_COPY_SIGNATURE)] = np.frombuffer(_COPY_SIGNATURE, np.uint8)
    out[len(out) - len(_COPY_TRAILER) :] = np.frombuffer(_COPY_TRAILER, np.uint8)
    for code, (prefix, suffix, _device_id) in enumerate(encoded):
        rows = np.flatnonzero(codes == code) if len(encoded) > 1 else slice(None)
        record = np.empty(
            len(stamps[rows]),
            dtype=[
                ("prefix", np.uint8, (len(prefix),)),
                ("stamp", ">i8"),
                ("length", ">i4"),
                ("value", ">f8"),
                ("suffix", np.uint8, (len(suffix),)),
            ],
        )
        record["prefix"] = np.frombuffer(prefix, np.uint8)
        record["stamp"] = stamps[rows]
        record["length"] = 8
        record["value"] = values[rows]
        record["suffix"] = np.frombuffer(suffix, np.uint8)
        flat = record.view(np.uint8).reshape(len(record), int(lengths[code]))
        if len(encoded) == 1:
            out[len(_COPY_SIGNATURE) : len(out) - len(_COPY_TRAILER)] = flat.ravel()
        else:
            starts = ends[rows] - lengths[code]
            out[starts[:, None] + np.arange(int(lengths[code]))] = flat
    rolled_up = {}
    for kind in ROLLED_UP_KINDS:
        if kind in kinds:
            mask = row_kinds == kinds.index(kind)
            rolled_up[kind] = (micros[mask], values[mask])
    return _Batch(out.tobytes(), count, repeated, rolled_up)


_SHAPE_PREFIX = struct.Struct(">hiqiqi")  # 8 fields; patient, device; the timestamp's length


def _shape(patient_id, shape: tuple, devices: _Devices, upload_id, encoding):
    """The constant parts of one shape's COPY rows: (bytes before the timestamp, bytes after
    the value, device id)."""
    identity, kind, flag, meal_tag = shape
    device_id = devices.id_for(identity, kind)
    prefix = _SHAPE_PREFIX.pack(8, 8, patient_id, 8, device_id, 8)
    suffix = b"".join(
        struct.pack(">i", len(text)) + text
        for text in (
            kind.encode(encoding),
            (flag or "").encode(encoding),
            (meal_tag or "").encode(encoding),
        )
    )
    suffix += struct.pack(">iq", 8, upload_id) if upload_id is not None else struct.pack(">i", -1)
    return prefix, suffix, device_id


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


class _CopyStream:
    """One binary ``COPY`` into the readings table that consecutive chunks write into, in a
    savepoint (PostgreSQL): ``_copy_direct`` for many chunks at once.

    A COPY per chunk waited, each time, for the server to end the statement (its foreign-key
    checks are most of a COPY's time) before the next chunk was encoded and sent; one COPY
    keeps the server busy from the first chunk to the last while the client parses and
    encodes the next one, as the single COPY of a bulk load does (#23 §1). While it is open
    the connection can send nothing else: no device creation, no conflict lookup, no rollup.

        stream.start(); stream.write(batch); …; stored = stream.end()
    """

    def __init__(self) -> None:
        self._stack: ExitStack | None = None
        self._copy = None
        self._refused = False  # a row was refused while being written: end() answers False

    @property
    def open(self) -> bool:
        return self._stack is not None or self._refused

    def start(self) -> None:
        with ExitStack() as stack:
            stack.enter_context(transaction.atomic())  # a savepoint
            stack.enter_context(connection.wrap_database_errors)
            cursor = stack.enter_context(connection.cursor())
            self._copy = stack.enter_context(
                cursor.cursor.copy(
                    f"COPY {Reading._meta.db_table} ({_COLUMNS}) FROM STDIN (FORMAT BINARY)"
                )
            )
            self._copy.write(_COPY_SIGNATURE)
            self._stack = stack.pop_all()  # kept open until end() or abort()

    def write(self, batch: _Batch, *, skip: int = 0) -> None:
        """A chunk's encoded rows (``_encode_batch``), without its own framing, from its
        ``skip``-th byte of rows on. The server reports a refused row when the COPY ends;
        should it come while writing, the COPY is left at once and the next writes do nothing
        (``end()`` answers False)."""
        if self._refused:
            return
        try:
            with connection.wrap_database_errors:
                start = len(_COPY_SIGNATURE) + skip
                data = memoryview(batch.data)[start : len(batch.data) - len(_COPY_TRAILER)]
                if len(data):
                    self._copy.write(data)
        except IntegrityError as exc:
            self.abort(exc)
            self._refused = True
        except BaseException as exc:
            self.abort(exc)
            raise

    def end(self) -> bool:
        """End the COPY: True when every row written is stored; False when some row is stored
        already or was refused by a constraint (as ``_copy_direct``): nothing of it is kept."""
        if self._refused:
            self._refused = False
            return False
        stack, self._stack = self._stack, None
        try:
            with stack:
                self._copy.write(_COPY_TRAILER)
        except IntegrityError:
            return False
        finally:
            self._copy = None
        return True

    def abort(self, exc: BaseException) -> None:
        """Leave the COPY on an error (the savepoint is rolled back); the error goes on."""
        stack, self._stack, self._copy, self._refused = self._stack, None, None, False
        if stack is not None:
            try:
                stack.__exit__(type(exc), exc, exc.__traceback__)
            except BaseException:  # noqa: BLE001, S110  (the caller raises ``exc`` itself)
                pass


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
