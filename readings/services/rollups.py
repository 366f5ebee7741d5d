"""Daily rollups: folding newly inserted readings in (additive upsert), rebuilding a patient's
rollups from the raw readings, and rebuilding them when the patient's time zone changes.
The patient-row lock that imports and rebuilds share lives here too.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import numpy as np
import pandas as pd
from django.db import connection, transaction
from django.db.models import Max, Min

from glycemia.rollups import ROLLUP_FIELDS, daily_rollups, daily_wear
from outbox.services import task_enqueue
from readings.models import DailyRollup, Reading
from readings.signals import readings_changed

DEFAULT_INTERVAL_MINUTES = 5.0
ROLLED_UP_KINDS = ("cgm", "smbg")
EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


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


class StoredCgm:
    """Where an import's CGM readings are the only ones stored: set up before the import
    inserts anything, it knows the span of the patient's CGM readings stored before (one
    query) and the span of each chunk this import inserted. A local day that meets none of
    them holds, once a chunk is inserted, exactly that chunk's CGM readings of the day: its
    wear is counted from them (``_stored_wear``) instead of reading them back (#23). The
    patient's row lock (``_one_writer_per_patient``) keeps other imports out meanwhile."""

    def __init__(self, patient_id: int):
        stored = Reading.objects.filter(patient_id=patient_id, kind="cgm").aggregate(
            first=Min("timestamp"), last=Max("timestamp")
        )
        self.spans: list[tuple[int, int]] = []  # [first, last] µs since 1970, inclusive
        if stored["first"] is not None:
            self.spans.append((_micros(stored["first"]), _micros(stored["last"])))

    def only_new(self, start: int, after: int) -> bool:
        """Whether [start, after) (µs) meets no CGM reading stored before this chunk."""
        return all(after <= first or start > last for first, last in self.spans)

    def inserted(self, micros: np.ndarray) -> None:
        if len(micros):
            self.spans.append((int(micros.min()), int(micros.max())))


def _micros(moment: dt.datetime) -> int:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return (moment - EPOCH) // dt.timedelta(microseconds=1)


def _fold_into_rollups(
    patient,
    series: dict[str, tuple[np.ndarray, np.ndarray]] | list[dict],
    *,
    cgm_micros: np.ndarray | None = None,
    stored: StoredCgm | None = None,
    statements: list[tuple[str, list]] | None = None,
) -> None:
    """Add newly inserted readings (``_series``) to their local days' rollups (additive upsert);
    a CGM day's interval and slots are recounted from all its stored readings. ``cgm_micros``:
    the inserted CGM readings' instants (µs since 1970) and ``stored`` the import's
    ``StoredCgm``, so that days holding only them are counted without a query.

    ``series`` may be a list of chunks' series, in file order: the rollups come out exactly
    as if each had been folded in turn. ``statements``: what ``_fold_statements`` answered
    for the same arguments beforehand."""
    if statements is None:
        statements = _fold_statements(patient, series, cgm_micros=cgm_micros, stored=stored)
    with connection.cursor() as cursor:
        for sql, params in statements:
            cursor.execute(sql, params)
    if stored is not None and cgm_micros is not None:
        stored.inserted(cgm_micros)


def _fold_statements(
    patient,
    series: dict[str, tuple[np.ndarray, np.ndarray]] | list[dict],
    *,
    cgm_micros: np.ndarray | None = None,
    stored: StoredCgm | None = None,
    memory_only: bool = False,
) -> list[tuple[str, list]] | None:
    """The upserts that fold ``series`` into the rollups (``_fold_into_rollups``).

    Chunks' series are summed up chunk by chunk, as their own upserts would (floating-point
    sums of a day two chunks share then come out to the last bit as they did): a day's k-th
    chunk goes into the k-th upsert (``_layers``), usually two for a whole file.
    ``memory_only``: None, without a query, when some CGM day's wear needs readings stored
    before — so that the statements can be worked out while the connection is busy (the end
    of a COPY, ``ingest._Stream``) and sent once it is free."""
    chunks = [series] if isinstance(series, dict) else series
    statements = []
    for kind in ROLLED_UP_KINDS:
        frames = []
        for chunk in chunks:
            if kind in chunk:
                times, values = chunk[kind]
                stamps = (times * 1e9).astype("int64").astype("datetime64[ns]")
                frames.append(daily_rollups(stamps, values, tz=patient.timezone))
        if not frames:
            continue
        if kind == "cgm":  # each day's wear from all its readings, in each upsert of it
            days = sorted(set().union(*(frame.index for frame in frames)))
            new = cgm_micros if stored is not None else None
            wear = _stored_wear(patient, days, new, stored, memory_only=memory_only)
            if wear is None:
                return None
            frames = [frame.join(wear) for frame in frames]
        for frame in _layers(frames):
            statement = _upsert(
                patient_id=patient.pk,
                kind=kind,
                frame=frame,
                interval_minutes=DEFAULT_INTERVAL_MINUTES,
            )
            if statement is not None:
                statements.append(statement)
    return statements


def _layers(frames: list[pd.DataFrame]) -> list[pd.DataFrame]:
    """Chunks' daily frames regrouped so that no frame holds a day twice (one upsert cannot
    update a row twice): the k-th frame holds each day's row from the k-th chunk having it.

    >>> [list(f.index) for f in _layers([days(1, 2), days(2, 3), days(3, 4)])]  # doctest: +SKIP
    [[1, 2, 3, 4], [2, 3]]
    """
    if len(frames) == 1:
        return frames
    seen: dict = {}
    layers: list[list[pd.DataFrame]] = []
    for frame in frames:
        depth = np.array([seen.get(day, 0) for day in frame.index], dtype=np.int64)
        for day in frame.index:
            seen[day] = seen.get(day, 0) + 1
        for k in range(int(depth.max()) + 1 if len(depth) else 0):
            if k == len(layers):
                layers.append([])
            rows = frame[depth == k]
            if len(rows):
                layers[k].append(rows)
    return [pd.concat(parts) for parts in layers]


def _stored_wear(
    patient, days, new=None, stored: StoredCgm | None = None, *, memory_only: bool = False
) -> pd.DataFrame | None:
    """Interval and slots of these local days from all their stored CGM readings (the new ones
    included: they are inserted already). Issue #17: the interval is each day's own, whoever
    sent its readings and however they were batched (uploaders post one reading at a time),
    so the rollups count wear as the raw path does (``glycemia.series.day_wear``).

    A day where ``stored`` says only the new readings (``new``, µs) can be takes them from
    memory; the others are read from the database (``memory_only``: None instead)."""
    zone = patient.tzinfo
    bounds = []
    parts = []
    asked = []
    for day in sorted(day.date() if hasattr(day, "date") else day for day in days):
        if new is not None:
            start = dt.datetime.combine(day, dt.time.min, zone)
            after = dt.datetime.combine(day + dt.timedelta(days=1), dt.time.min, zone)
            start_us, after_us = _micros(start), _micros(after)
            if stored.only_new(start_us, after_us):
                parts.append(new[(new >= start_us) & (new < after_us)])
                continue
        asked.append(day)
    if asked and memory_only:
        return None
    for first, last in _runs(asked):
        start = dt.datetime.combine(first, dt.time.min, zone)
        after = dt.datetime.combine(last + dt.timedelta(days=1), dt.time.min, zone)
        bounds.append((start.astimezone(dt.UTC), after.astimezone(dt.UTC)))
    micros = np.sort(np.concatenate([_stored_cgm_micros(patient.pk, bounds), *parts]))
    return daily_wear((micros * 1000).astype("datetime64[ns]"), tz=patient.timezone)


def _stored_cgm_micros(patient_id: int, bounds: list[tuple[dt.datetime, dt.datetime]]):
    """µs since 1970 (int64, unsorted) of the patient's stored CGM readings in [start, after)
    ranges. Raw SQL: the ORM built an aware datetime per row, then Python arithmetic on it —
    about 40 % of an import's Python time (#23), for numbers the database can give directly."""
    if not bounds:
        return np.zeros(0, dtype="int64")
    table = Reading._meta.db_table
    ranges = " OR ".join(["(timestamp >= %s AND timestamp < %s)"] * len(bounds))
    params = [patient_id, *(moment for pair in bounds for moment in pair)]
    if connection.vendor == "postgresql":
        # EXTRACT(EPOCH …) is an exact numeric on PostgreSQL ≥ 14 (a double before, then
        # exact after rounding: µs since 1970 stay below 2**53).
        column = "round(EXTRACT(EPOCH FROM timestamp) * 1000000)::bigint"
    else:
        column = "timestamp"
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {column} FROM {table} WHERE patient_id = %s AND kind = 'cgm' AND ({ranges})",
            params,
        )
        values = [value for (value,) in cursor.fetchall()]
    if connection.vendor == "postgresql":
        return np.array(values, dtype="int64")
    # SQLite keeps ISO text (UTC; an offset when a raw INSERT wrote an aware datetime).
    stamps = pd.DatetimeIndex(pd.to_datetime(values, utc=True, format="ISO8601"))
    return stamps.as_unit("us").asi8.astype("int64")


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
    statement = _upsert(
        patient_id=patient_id, kind=kind, frame=frame, interval_minutes=interval_minutes
    )
    if statement is not None:
        with connection.cursor() as cursor:
            cursor.execute(*statement)


def _upsert(*, patient_id: int, kind: str, frame, interval_minutes: float):
    """``rollups_add``'s statement and parameters (None for no days)."""
    if frame is None or len(frame) == 0:
        return None
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
    dates = [day.date() if hasattr(day, "date") else day for day in frame.index]
    conflict = " ON CONFLICT (patient_id, date, kind) DO UPDATE SET " + ", ".join(updates)
    if connection.vendor == "postgresql":
        # A column an array: a day a row of VALUES was 18 parameters, and a file's 90 days
        # took PostgreSQL 5-6 ms to parse and plan (#23), a tenth of that as arrays.
        arrays = ", ".join(f"%s::{_column_type(name)}[]" for name in columns)
        return (
            f"INSERT INTO {table} ({', '.join(columns)}) SELECT * FROM unnest({arrays})" + conflict,
            [[patient_id] * len(dates), dates, [kind] * len(dates), *columns_values],
        )
    rows = []
    for date, values in zip(dates, zip(*columns_values, strict=True), strict=True):
        rows.append([patient_id, date, kind, *values])
    placeholders = "(" + ", ".join(["%s"] * len(columns)) + ")"
    return (
        f"INSERT INTO {table} ({', '.join(columns)}) VALUES "
        + ", ".join([placeholders] * len(rows))
        + conflict,
        [value for row in rows for value in row],
    )


def _column_type(name: str) -> str:
    """A rollup column's PostgreSQL type, as the model declares it (``bigint``, ``date``…)."""
    field = DailyRollup._meta.get_field("patient" if name == "patient_id" else name)
    return field.rel_db_type(connection) if field.is_relation else field.db_type(connection)


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
    task_enqueue("readings.tasks.rebuild_rollups", instance.pk)
