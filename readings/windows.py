"""Window figures from the daily rollups (never from raw readings); triage is in
``workspace.triage``."""

import datetime as dt
import zoneinfo

import numpy as np
import pandas as pd
from django.db import connections
from django.db.models.expressions import RawSQL
from django.utils import timezone

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


def _float_pairs(database, sql: str, params) -> tuple[np.ndarray, np.ndarray] | None:
    """The two float8 columns of ``sql`` as two float64 arrays, sent by the server as one
    bytea (each row's two values in float8's binary form, in the rows' order) and read with
    ``np.frombuffer``: no float written as text and parsed back, no Python object per value.
    The same float8 values as fetching the rows, bit for bit. None when a value is NULL (its
    row would be missing from the bytea; the caller then fetches the rows)."""
    with database.cursor() as cursor:
        cursor.execute(
            "SELECT count(*), string_agg(float8send(r.a) || float8send(r.b), ''::bytea)"
            f" FROM ({sql}) AS r(a, b)",
            params,
        )
        count, data = cursor.fetchone()
    data = b"" if data is None else bytes(data)
    if len(data) != 16 * count:
        return None
    pairs = np.frombuffer(data, dtype=">f8").astype("float64").reshape(count, 2)
    return pairs[:, 0].copy(), pairs[:, 1].copy()


def readings_arrays(patient: Patient, kind: str, start: dt.date, end: dt.date, *, tags=False):
    """One query → (UTC int64 ns, mg/dL float64[, meal tags]) of `kind` in the local window.

    On PostgreSQL the database returns epoch seconds as float8: converting thousands of
    datetime objects in Python cost more than the metrics themselves. ``date_part`` rather
    than ``EXTRACT``: since PostgreSQL 14 EXTRACT computes a numeric (slower), date_part a
    float8 (the same value). The values of a CGM window (~4,000 rows a report) come as one
    bytea read straight into numpy (``_float_pairs``: 0.25 instead of 1.9 ms of Python and
    less of the server's time than writing 8,000 floats as text); meal tags still take a
    ``fetchall``.
    """
    lo, hi = _utc_bounds(patient, start, end)
    readings = Reading.objects.filter(
        patient_id=patient.pk, kind=kind, timestamp__gte=lo, timestamp__lt=hi
    )
    extra = ["meal_tag"] if tags else []
    # The queryset's database: a read replica inside ``common.replicas.on_replica``.
    database = connections[readings.db]
    postgresql = database.vendor == "postgresql"
    if postgresql:
        epoch = RawSQL("""date_part('epoch', "readings_reading"."timestamp")""", [])
        query = readings.annotate(epoch=epoch).values_list("epoch", "value_mg_dl", *extra)
        sql, params = query.query.get_compiler(readings.db).as_sql()
        pairs = None if tags else _float_pairs(database, sql, params)
        if pairs is not None:
            times, values = pairs
            return np.rint(times * 1e6).astype("int64") * 1000, values
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
