"""Window figures from the daily rollups (never from raw readings); triage is in
``workspace.triage``."""

import datetime as dt

import pandas as pd
from django.utils import timezone

from glycemia.rollups import ROLLUP_FIELDS, metrics_from_rollups
from patients.models import Patient
from readings.models import DailyRollup

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
