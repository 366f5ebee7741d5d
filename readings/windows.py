"""Window figures from the daily rollups (never from raw readings); triage is in
``workspace.triage``."""

import datetime as dt
import zoneinfo

import numpy as np
import pandas as pd
from django.db import connections, router
from django.db.models.expressions import RawSQL
from django.utils import timezone

from common.compiled import CompiledRead
from glycemia.rollups import ROLLUP_FIELDS, metrics_from_rollups
from patients.models import Patient
from readings.models import DailyRollup, Reading

TRIAGE_WINDOW_DAYS = 14


def window_dates(end: dt.date | None = None, days: int = TRIAGE_WINDOW_DAYS):
    end = end or timezone.now().date()
    return end - dt.timedelta(days=days - 1), end


def rollup_metrics(
    patient_ids: list[int], *, start: dt.date, end: dt.date, kind: str = "cgm"
) -> dict[int, dict]:
    """14-day metrics per patient from DailyRollup rows: one query, vectorized arithmetic."""
    rows = DailyRollup.objects.filter(
        patient_id__in=patient_ids, date__gte=start, date__lte=end, kind=kind
    ).values_list("patient_id", "date", "interval_minutes", "slots", *ROLLUP_FIELDS)
    frame = pd.DataFrame.from_records(
        list(rows), columns=["patient_id", "date", "interval_minutes", "slots", *ROLLUP_FIELDS]
    )
    if frame.empty:
        return {}
    zones = dict(Patient.objects.filter(pk__in=patient_ids).values_list("pk", "timezone"))
    result = metrics_from_rollups(frame, start=start, end=end, zones=zones)
    result = result.astype(object).where(result.notna(), None)
    metrics = {}
    for pid, row in result.to_dict(orient="index").items():
        if row["readings"]:
            # Unrounded: the page rounds once (glycemia.display).
            row["below_percent"] = row["very_low_percent"] + row["low_percent"]
            row["above_percent"] = row["high_percent"] + row["very_high_percent"]
        metrics[int(pid)] = row
    return metrics


def _utc_bounds(patient: Patient, start: dt.date, end: dt.date):
    zone = zoneinfo.ZoneInfo(patient.timezone)
    lo = dt.datetime.combine(start, dt.time(), zone)
    hi = dt.datetime.combine(end + dt.timedelta(days=1), dt.time(), zone)
    return lo, hi


def _fetch_rows(database, sql: str, params) -> list[tuple]:
    with database.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


# The window's readings as (timestamp, mg/dL), compiled once per database (``common.compiled``:
# building the query was a third of the reading's Python, #23).
_WINDOW_READINGS = CompiledRead(
    lambda pk, kind, lo, hi: Reading.objects.filter(
        patient_id=pk, kind=kind, timestamp__gte=lo, timestamp__lt=hi
    ).values_list("timestamp", "value_mg_dl"),
    kinds=(int, str, dt.datetime, dt.datetime),
)

# timestamptz's binary form: int64 microseconds since this instant.
_PG_EPOCH_NS = 946_684_800 * 10**9  # 2000-01-01T00:00:00Z in Unix ns


def _binary_pairs(database, sql: str, params) -> tuple[np.ndarray, np.ndarray] | None:
    """The (timestamp, float8) rows of ``sql`` as int64 UTC ns and float64 arrays, sent by the
    server as one bytea (each row's instant and value in their binary forms, in the rows'
    order) and read with ``np.frombuffer``: no value written as text and parsed back, no
    Python object per value. The instant's binary form is its exact microseconds (the
    ``date_part('epoch')`` float this replaced cost the server 0.2 ms a report and was exact
    only after rounding); the values are float8's bits. None when a value is NULL (its row
    would be missing from the bytea; the caller then fetches the rows)."""
    with database.cursor() as cursor:
        cursor.execute(
            "SELECT count(*), string_agg(timestamptz_send(r.t) || float8send(r.v), ''::bytea)"
            f" FROM ({sql}) AS r(t, v)",
            params,
        )
        count, data = cursor.fetchone()
    data = b"" if data is None else bytes(data)
    if len(data) != 16 * count:
        return None
    rows = np.frombuffer(data, dtype=[("t", ">i8"), ("v", ">f8")])
    times = (rows["t"].astype("int64") * 1000) + _PG_EPOCH_NS
    return times, rows["v"].astype("float64")


def readings_arrays(patient: Patient, kind: str, start: dt.date, end: dt.date, *, tags=False):
    """One query → (UTC int64 ns, mg/dL float64[, meal tags]) of `kind` in the local window.

    On PostgreSQL the values of a window (~4,000 rows a report) come as one bytea read
    straight into numpy (``_binary_pairs``: 0.25 instead of 1.9 ms of Python and less of the
    server's time than writing 8,000 values as text); meal tags still take a ``fetchall``,
    with the instants as epoch seconds (float8): converting thousands of datetime objects in
    Python cost more than the metrics themselves. ``date_part`` rather than ``EXTRACT``:
    since PostgreSQL 14 EXTRACT computes a numeric (slower), date_part a float8 (the same
    value).
    """
    lo, hi = _utc_bounds(patient, start, end)
    # The read's database: a read replica inside ``common.replicas.on_replica``.
    database = connections[router.db_for_read(Reading)]
    postgresql = database.vendor == "postgresql"
    if postgresql and not tags:
        sql, params, _alias = _WINDOW_READINGS.sql(patient.pk, kind, lo, hi)
        pairs = _binary_pairs(database, sql, params)
        if pairs is not None:
            return pairs
    readings = Reading.objects.filter(
        patient_id=patient.pk, kind=kind, timestamp__gte=lo, timestamp__lt=hi
    )
    extra = ["meal_tag"] if tags else []
    if postgresql:
        epoch = RawSQL("""date_part('epoch', "readings_reading"."timestamp")""", [])
        query = readings.annotate(epoch=epoch).values_list("epoch", "value_mg_dl", *extra)
        sql, params = query.query.get_compiler(readings.db).as_sql()
        rows = _fetch_rows(database, sql, params)
    else:
        rows = list(readings.values_list("timestamp", "value_mg_dl", *extra))
    if not rows:
        empty = (np.empty(0, dtype="int64"), np.empty(0))
        return empty + (([],) if tags else ())
    if postgresql and not tags:
        numbers = np.array(rows, dtype="float64")  # (n, 2): epoch seconds, mg/dL
        return np.rint(numbers[:, 0] * 1e6).astype("int64") * 1000, numbers[:, 1].copy()
    columns = list(zip(*rows, strict=True))
    if postgresql:
        times = np.rint(np.asarray(columns[0], dtype="float64") * 1e6).astype("int64") * 1000
    else:
        times = pd.to_datetime(list(columns[0]), utc=True).as_unit("ns").asi8
    values = np.asarray(columns[1], dtype="float64")
    return (times, values, list(columns[2])) if tags else (times, values)
