"""Population figures and triage from the daily rollups (never from raw readings)."""

import datetime as dt
from dataclasses import dataclass

import pandas as pd
from django.db.models import QuerySet
from django.utils import timezone

from care_plans.services import reviews_overdue
from glycemia.rollups import ROLLUP_FIELDS, metrics_from_rollups
from patients.models import Patient
from readings.models import DailyRollup

TRIAGE_WINDOW_DAYS = 14

# Triage flags, most urgent first. Thresholds are the consensus goals (Battelino 2019).
FLAG_VERY_LOW = "very_low"  # time < 54 mg/dL ≥ 1 %
FLAG_LOW = "low"  # time < 70 mg/dL ≥ 4 %
FLAG_HIGH = "high"  # time in range < 70 %
FLAG_VARIABLE = "variable"  # CV > 36 %
FLAG_NO_DATA = "insufficient_data"  # active < 70 % over the window
FLAG_METER = "meter_only"  # finger-sticks only: CGM figures cannot be computed
FLAG_REVIEW = "review_overdue"  # the care plan is past its review date
FLAGS = (FLAG_VERY_LOW, FLAG_LOW, FLAG_HIGH, FLAG_VARIABLE, FLAG_NO_DATA, FLAG_METER, FLAG_REVIEW)

ORDERINGS = {
    "risk": ("-gri", "name"),
    "name": ("name",),
    "tir": ("in_range_percent", "name"),
    "tbr": ("-below_percent", "name"),
    "gri": ("-gri", "name"),
    "cv": ("-cv_percent", "name"),
    "active": ("active_percent", "name"),
    "mean": ("-mean_mg_dl", "name"),
}


@dataclass
class PatientRow:
    patient: Patient
    metrics: dict
    flags: list[str]

    def as_dict(self) -> dict:
        return {
            "id": self.patient.pk,
            "mrn": self.patient.mrn,
            "name": self.patient.name,
            "diabetes_type": self.patient.diabetes_type,
            "flags": self.flags,
            **self.metrics,
        }


def window_dates(end: dt.date | None = None, days: int = TRIAGE_WINDOW_DAYS):
    end = end or timezone.now().date()
    return end - dt.timedelta(days=days - 1), end


def rollup_metrics(
    patient_ids: list[int], *, start: dt.date, end: dt.date, kind: str = "cgm"
) -> dict[int, dict]:
    """14-day metrics per patient from DailyRollup rows: one query, vectorized arithmetic."""
    rows = DailyRollup.objects.filter(
        patient_id__in=patient_ids, date__gte=start, date__lte=end, kind=kind
    ).values_list("patient_id", "date", "interval_minutes", *ROLLUP_FIELDS)
    frame = pd.DataFrame.from_records(
        list(rows), columns=["patient_id", "date", "interval_minutes", *ROLLUP_FIELDS]
    )
    if frame.empty:
        return {}
    result = metrics_from_rollups(frame, start=start, end=end)
    result = result.astype(object).where(result.notna(), None)
    metrics = {}
    for pid, row in result.to_dict(orient="index").items():
        if row["readings"]:
            row["below_percent"] = round(row["very_low_percent"] + row["low_percent"], 1)
            row["above_percent"] = round(row["high_percent"] + row["very_high_percent"], 1)
        metrics[int(pid)] = row
    return metrics


def flags_for(metrics: dict | None) -> list[str]:
    if not metrics or not metrics.get("readings"):
        return [FLAG_NO_DATA]
    flags = []
    if (metrics.get("very_low_percent") or 0) >= 1:
        flags.append(FLAG_VERY_LOW)
    if (metrics.get("very_low_percent") or 0) + (metrics.get("low_percent") or 0) >= 4:
        flags.append(FLAG_LOW)
    if (metrics.get("in_range_percent") or 0) < 70:
        flags.append(FLAG_HIGH)
    if (metrics.get("cv_percent") or 0) > 36:
        flags.append(FLAG_VARIABLE)
    if (metrics.get("active_percent") or 0) < 70:
        flags.append(FLAG_NO_DATA)
    return flags


def triage_rows(
    patients: QuerySet[Patient], *, ordering: str = "risk", flag: str | None = None
) -> list[PatientRow]:
    """The triage list: every visible patient with 14-day figures and flags, riskiest first."""
    start, end = window_dates()
    patients = list(patients.order_by("name", "pk"))
    metrics = rollup_metrics([p.pk for p in patients], start=start, end=end)
    without_cgm = [p.pk for p in patients if p.pk not in metrics]
    meter = rollup_metrics(without_cgm, start=start, end=end, kind="smbg") if without_cgm else {}
    review = reviews_overdue(patients)
    rows = []
    for patient in patients:
        if patient.pk in meter:
            # Meter-only: show the finger-stick mean; band percentages of sparse finger-sticks
            # are not CGM time-in-range and are not shown as such.
            m = {
                "readings": meter[patient.pk]["readings"],
                "mean_mg_dl": meter[patient.pk]["mean_mg_dl"],
            }
            flags = [FLAG_METER]
        else:
            m = metrics.get(patient.pk, {})
            flags = flags_for(m)
        if patient.pk in review:
            flags.append(FLAG_REVIEW)
        rows.append(PatientRow(patient, m, flags))
    if flag in FLAGS:
        rows = [row for row in rows if flag in row.flags]
    keys = ORDERINGS.get(ordering, ORDERINGS["risk"])

    def sort_key(row: PatientRow) -> list:
        key = []
        for item in keys:
            name = item.lstrip("-")
            if name == "name":
                key.append((False, row.patient.name.lower()))
                continue
            value = row.metrics.get(name)
            # Patients without data sort last whichever the direction.
            key.append((value is None, 0 if value is None else -value if item[0] == "-" else value))
        return key

    rows.sort(key=sort_key)
    return rows
