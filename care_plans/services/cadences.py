"""Cadences: days between reports, whether the plan's review is due, and which checks are due."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone

from care_plans.models import DEFAULT_REPORT_CADENCE_DAYS, CarePlanVersion
from care_plans.services.defaults import CHECKS
from care_plans.services.revisions import care_plan_current
from patients.models import Patient


def report_cadence_days(patient: Patient) -> int:
    """Days between periodic reports: the plan's cadence, 14 when there is no plan."""
    current = care_plan_current(patient=patient)
    return current.report_cadence_days if current else DEFAULT_REPORT_CADENCE_DAYS


def review_due(patient: Patient) -> tuple[dt.date | None, bool]:
    """(date the current version is due for review, whether that date has passed).

    ``(None, False)`` without a plan. The date is in the patient's local calendar.
    """
    current = care_plan_current(patient=patient)
    if current is None:
        return None, False
    written = timezone.localdate(current.created_at, patient.tzinfo)
    due = written + dt.timedelta(days=current.review_interval_days)
    return due, due < timezone.localdate(timezone.now(), patient.tzinfo)


def reviews_overdue(patients) -> set[int]:
    """Ids of the patients whose current plan is past its review date: one query for all.

    Same rule as ``review_due``, for lists such as the triage queue.
    """
    by_id = {patient.pk: patient for patient in patients}
    latest: dict[int, tuple] = {}
    rows = (
        CarePlanVersion.objects.filter(plan__patient_id__in=list(by_id))
        .order_by("plan__patient_id", "-number")
        .values_list("plan__patient_id", "created_at", "review_interval_days")
    )
    for patient_id, created_at, interval in rows:
        latest.setdefault(patient_id, (created_at, interval))
    now = timezone.now()
    overdue = set()
    for patient_id, (created_at, interval) in latest.items():
        zone = by_id[patient_id].tzinfo
        due = timezone.localdate(created_at, zone) + dt.timedelta(days=interval)
        if due < timezone.localdate(now, zone):
            overdue.add(patient_id)
    return overdue


def checks_due(patient: Patient, last_done: dict[str, dt.date] | None = None) -> list[dict]:
    """The plan's periodic checks with their next due date (for the visits worklist).

    ``last_done`` maps a check key to the date it was last done; a check never done is due
    today. Returns ``[{"key", "label", "interval_days", "due": date}]``, soonest first.
    """
    current = care_plan_current(patient=patient)
    if current is None:
        return []
    last_done = last_done or {}
    today = timezone.localdate(timezone.now(), patient.tzinfo)
    rows = []
    for check in current.content.get("checks", []):
        done = last_done.get(check["key"])
        due = done + dt.timedelta(days=check["interval_days"]) if done else today
        rows.append({**check, "label": str(CHECKS.get(check["key"], check["label"])), "due": due})
    return sorted(rows, key=lambda row: row["due"])
