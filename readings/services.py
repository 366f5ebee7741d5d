"""Ingestion: store every reading once, keep daily rollups exact, report every bad row.

The one write path for glucose, used by file uploads, the REST batch API, the Nightscout API,
FHIR and the demo seeder:

    parse (readings.parsers) → readings_ingest → [chunk: devices, insert ON CONFLICT DO
    NOTHING RETURNING, conflicts, rollup deltas] → IngestResult

Why this shape:
- uniqueness is the database's job (constraint ``reading_unique_identity``); a chunk is inserted
  with ``ON CONFLICT DO NOTHING RETURNING`` so duplicates and concurrent uploads of the same file
  are absorbed without a query per row, and we learn exactly which rows were new;
- rollups are additive (count, sums, band counts, min/max), so the rows that were really inserted
  are folded into ``DailyRollup`` with an ``ON CONFLICT DO UPDATE`` — correct under concurrency;
- on PostgreSQL each chunk is sent with ``COPY`` into a temporary staging table and moved with one
  ``INSERT … SELECT``: COPY is the fastest way in, the INSERT keeps conflict handling;
- memory is bounded by the chunk size, whatever the file size;
- callers wrap the call in ``transaction.atomic()``: a crash leaves nothing half-written.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from itertools import islice

import numpy as np
from django.db import connection, transaction
from django.utils import timezone

from glycemia.rollups import ROLLUP_FIELDS, daily_rollups
from readings.models import DailyRollup, Device, Reading, Treatment, Upload

CHUNK_SIZE = 5000
DEFAULT_INTERVAL_MINUTES = 5.0
ROLLED_UP_KINDS = ("cgm", "smbg")
CONFLICT_TOLERANCE_MG_DL = 0.5  # same identity, values closer than this are the same reading


@dataclass
class IngestResult:
    accepted: int = 0
    duplicates: int = 0
    rejected: list[dict] = field(default_factory=list)
    treatments: int = 0
    warnings: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {"accepted": self.accepted, "duplicates": self.duplicates, "rejected": self.rejected}


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


def readings_ingest(
    *,
    patient,
    items: Iterable,
    upload: Upload | None = None,
    chunk_size: int = CHUNK_SIZE,
    on_progress=None,
) -> IngestResult:
    """Store parsed items (readings, treatments, row errors) for ``patient``.

    ``items`` is any iterable of ``readings.parsers`` records (``Reading``, ``Treatment``,
    ``RowError``), consumed once, in chunks. Must run inside ``transaction.atomic()``.
    """
    result = IngestResult()
    devices = _Devices(patient.pk)
    upload_id = upload.pk if upload else None
    for n, chunk in enumerate(_chunks(items, chunk_size)):
        readings, treatments = [], []
        for item in chunk:
            if hasattr(item, "value_mg_dl"):
                readings.append(item)
            elif hasattr(item, "amount"):
                treatments.append(item)
            else:
                result.rejected.append({"line": item.line, "reason": item.reason})
        if readings:
            _insert_readings(patient, readings, devices, upload_id, result)
        if treatments:
            result.treatments += _insert_treatments(patient, treatments, devices, upload_id)
        if on_progress is not None:
            on_progress(n + 1)
    return result


def _insert_readings(patient, readings: list, devices: _Devices, upload_id, result) -> None:
    rows = [
        (
            r.line,
            patient.pk,
            devices.id_for(r.device, r.kind),
            r.timestamp,
            float(r.value_mg_dl),
            r.kind,
            r.flag or "",
            r.meal_tag or "",
            upload_id,
        )
        for r in readings
    ]
    if connection.vendor == "postgresql":
        inserted = _insert_postgresql(rows)
    else:
        inserted = _insert_generic(rows)
    result.accepted += len(inserted)
    not_inserted = len(rows) - len(inserted)
    if not_inserted:
        conflicts = _conflicts(rows, inserted)
        result.duplicates += not_inserted - len(conflicts)
        result.rejected.extend(conflicts)
    _fold_into_rollups(patient, inserted)


_COLUMNS = "patient_id, device_id, timestamp, value_mg_dl, kind, flag, meal_tag, upload_id"


def _insert_generic(rows: list[tuple]) -> list[tuple]:
    """Multi-row INSERT … ON CONFLICT DO NOTHING RETURNING (SQLite ≥ 3.35, PostgreSQL)."""
    table = Reading._meta.db_table
    inserted: list[tuple] = []
    per_statement = 900  # 8 parameters a row stays under SQLite's variable limit
    with connection.cursor() as wrapper:
        cursor = _undebugged(wrapper)
        for start in range(0, len(rows), per_statement):
            part = rows[start : start + per_statement]
            values = ", ".join(["(%s, %s, %s, %s, %s, %s, %s, %s)"] * len(part))
            params = [value for row in part for value in row[1:]]
            cursor.execute(
                f"INSERT INTO {table} ({_COLUMNS}) VALUES {values} "
                "ON CONFLICT (patient_id, kind, device_id, timestamp) DO NOTHING "
                "RETURNING device_id, timestamp, value_mg_dl, kind",
                params,
            )
            inserted.extend(cursor.fetchall())
    return [_normalize_returned(row) for row in inserted]


def _undebugged(cursor):
    """The backend cursor without DEBUG's per-query logging, which would triple bulk time."""
    return getattr(cursor, "cursor", cursor) if connection.vendor == "sqlite" else cursor


def _insert_postgresql(rows: list[tuple]) -> list[tuple]:
    """COPY into a temporary staging table, then one INSERT … SELECT … ON CONFLICT."""
    table = Reading._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE TEMP TABLE IF NOT EXISTS reading_stage ("
            " line integer, patient_id bigint, device_id bigint, timestamp timestamptz,"
            " value_mg_dl double precision, kind varchar(12), flag varchar(4),"
            " meal_tag varchar(12), upload_id bigint) ON COMMIT DELETE ROWS"
        )
        cursor.execute("TRUNCATE reading_stage")
        raw = cursor.cursor  # the psycopg cursor, for COPY
        with raw.copy(
            "COPY reading_stage (line, patient_id, device_id, timestamp, value_mg_dl, kind,"
            " flag, meal_tag, upload_id) FROM STDIN"
        ) as copy:
            for row in rows:
                copy.write_row(row)
        cursor.execute(
            f"INSERT INTO {table} ({_COLUMNS}) SELECT {_COLUMNS} FROM reading_stage ORDER BY line "
            "ON CONFLICT (patient_id, kind, device_id, timestamp) DO NOTHING "
            "RETURNING device_id, timestamp, value_mg_dl, kind"
        )
        return [_normalize_returned(row) for row in cursor.fetchall()]


def _normalize_returned(row: tuple) -> tuple:
    device_id, timestamp, value, kind = row
    if isinstance(timestamp, str):  # SQLite returns text
        timestamp = dt.datetime.fromisoformat(timestamp)
    if timestamp.tzinfo is None:
        timestamp = timestamp.replace(tzinfo=dt.UTC)
    return device_id, timestamp, float(value), kind


def _conflicts(rows: list[tuple], inserted: list[tuple]) -> list[dict]:
    """Rows not inserted whose stored twin has a different value: kept first, reported."""
    new_keys = {(d, t, k) for d, t, _, k in inserted}
    candidates = [row for row in rows if (row[2], row[3], row[5]) not in new_keys]
    if not candidates:
        return []
    stamps = [row[3] for row in candidates]
    stored = {
        (d, t, k): v
        for d, t, k, v in Reading.objects.filter(
            patient_id=candidates[0][1], timestamp__gte=min(stamps), timestamp__lte=max(stamps)
        ).values_list("device_id", "timestamp", "kind", "value_mg_dl")
    }
    conflicts = []
    for row in candidates:
        value = stored.get((row[2], row[3], row[5]))
        if value is not None and abs(value - row[4]) > CONFLICT_TOLERANCE_MG_DL:
            conflicts.append(
                {
                    "line": row[0],
                    "reason": (
                        f"{row[5]} reading at {row[3].isoformat()} is already stored with"
                        f" {value:g} mg/dL; {row[4]:g} mg/dL ignored (first value kept)"
                    ),
                }
            )
    return conflicts


def _fold_into_rollups(patient, inserted: list[tuple]) -> None:
    """Add the newly inserted rows to their local days' rollups (additive upsert)."""
    for kind in ROLLED_UP_KINDS:
        picked = [(t, v) for _, t, v, k in inserted if k == kind]
        if not picked:
            continue
        times = np.array([t.timestamp() for t, _ in picked], dtype="float64")
        values = np.array([v for _, v in picked], dtype="float64")
        frame = daily_rollups(
            (times * 1e9).astype("int64").astype("datetime64[ns]"), values, tz=patient.timezone
        )
        interval = _interval_minutes(times) if kind == "cgm" else DEFAULT_INTERVAL_MINUTES
        rollups_add(patient_id=patient.pk, kind=kind, frame=frame, interval_minutes=interval)


def _interval_minutes(epoch_seconds: np.ndarray) -> float:
    """The device's sampling interval: the median spacing, snapped to 1, 5 or 15 minutes."""
    if epoch_seconds.size < 2:
        return DEFAULT_INTERVAL_MINUTES
    spacing = np.diff(np.sort(epoch_seconds)) / 60
    spacing = spacing[spacing > 0]
    if spacing.size == 0:
        return DEFAULT_INTERVAL_MINUTES
    median = float(np.median(spacing))
    return float(min((1, 5, 15), key=lambda choice: abs(choice - median)))


def rollups_add(*, patient_id: int, kind: str, frame, interval_minutes: float) -> None:
    """Upsert rollup deltas: counts and sums add, min/max combine."""
    if frame is None or len(frame) == 0:
        return
    table = DailyRollup._meta.db_table
    columns = ["patient_id", "date", "kind", *ROLLUP_FIELDS, "interval_minutes"]
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
    rows = []
    for day, values in frame.iterrows():
        date = day.date() if hasattr(day, "date") else day
        rows.append(
            [patient_id, date, kind, *(_plain(values[name]) for name in ROLLUP_FIELDS)]
            + [interval_minutes]
        )
    placeholders = "(" + ", ".join(["%s"] * len(columns)) + ")"
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} ({', '.join(columns)}) VALUES "
            + ", ".join([placeholders] * len(rows))
            + " ON CONFLICT (patient_id, date, kind) DO UPDATE SET "
            + ", ".join(updates),
            [value for row in rows for value in row],
        )


def _plain(value):
    return value.item() if hasattr(value, "item") else value


def _insert_treatments(patient, treatments: list, devices: _Devices, upload_id) -> int:
    objects = [
        Treatment(
            patient_id=patient.pk,
            device_id=devices.id_for(t.device, ""),
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
    """Recompute a patient's rollups from raw readings (repair tool; also the test oracle)."""
    with transaction.atomic():
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
            frame = daily_rollups(
                (times * 1e9).astype("int64").astype("datetime64[ns]"), values, tz=patient.timezone
            )
            interval = _interval_minutes(times) if kind == "cgm" else DEFAULT_INTERVAL_MINUTES
            rollups_add(patient_id=patient.pk, kind=kind, frame=frame, interval_minutes=interval)


def upload_finish(upload: Upload, result: IngestResult, *, fmt: str, warnings: list[str]) -> None:
    upload.format = fmt
    upload.accepted = result.accepted
    upload.duplicates = result.duplicates
    upload.rejected = sorted(result.rejected, key=lambda item: item["line"])
    upload.treatments_count = result.treatments
    upload.warnings = list(warnings) + result.warnings
    upload.status = Upload.Status.DONE
    upload.processed_bytes = upload.size_bytes
    upload.finished_at = timezone.now()
    upload.save()
