"""Due dates and the worklist: when each patient's follow-up is due, their next visit, the
checks last done, the urgent reasons, and the rows of the staff's and clinicians' worklist.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field

from django.utils import timezone

from accounts.access import patients_visible_to
from accounts.models import User
from care_plans.models import CarePlanVersion
from care_plans.services import CHECKS
from patients.models import Patient
from visits.models import Visit, VisitCompletion, VisitType

WORKLIST_HORIZON_DAYS = 14  # due within two weeks → on the worklist
URGENT_WITHIN_DAYS = 14  # an urgent patient needs a visit within two weeks
FOLLOW_UP_CODE = "follow_up"
URGENT_CODE = "urgent"


def _local_date(instant: dt.datetime, patient: Patient) -> dt.date:
    return timezone.localdate(instant, patient.tzinfo)


def due_dates(patients: list[Patient]) -> dict[int, dt.date]:
    """When each patient's next follow-up is due: two queries for the whole list.

    The one rule of a follow-up's due date (the worklist, triage, the workspace and every
    page the patient reads, through ``follow_up_due``): the last completed follow-up visit
    (else the day the current plan version was written) + the current plan's visit cadence.
    Patients without a plan are left out (nothing to schedule from).
    """
    by_id = {p.pk: p for p in patients}
    plans = {}
    for pid, created_at, cadence in (
        CarePlanVersion.objects.filter(plan__patient_id__in=list(by_id))
        .order_by("plan__patient_id", "-number")
        .values_list("plan__patient_id", "created_at", "visit_cadence_days")
    ):
        plans.setdefault(pid, (created_at, cadence))
    last = {}
    for pid, start in (
        Visit.objects.filter(
            patient_id__in=list(plans), status=Visit.Status.COMPLETED, visit_type__is_follow_up=True
        )
        .order_by("patient_id", "-start_at")
        .values_list("patient_id", "start_at")
    ):
        last.setdefault(pid, start)
    due = {}
    for pid, (created_at, cadence) in plans.items():
        since = last.get(pid, created_at)
        due[pid] = _local_date(since, by_id[pid]) + dt.timedelta(days=cadence)
    return due


def next_visit_by_patient(patient_ids: list[int]) -> dict[int, tuple[dt.datetime | None, bool]]:
    """``{patient id: (start of the next open visit or None, visit overdue)}`` for many
    patients in three queries (for triage and other lists).

    Overdue: the plan's follow-up due date has passed and no visit is booked.
    """
    patients = list(Patient.objects.filter(pk__in=patient_ids))
    due = due_dates(patients)
    upcoming = {}
    for pid, start in (
        Visit.objects.filter(
            patient_id__in=patient_ids,
            status__in=[Visit.Status.BOOKED, Visit.Status.CHECKED_IN],
            end_at__gte=timezone.now(),
        )
        .order_by("patient_id", "start_at")
        .values_list("patient_id", "start_at")
    ):
        upcoming.setdefault(pid, start)
    out = {}
    for patient in patients:
        start = upcoming.get(patient.pk)
        today = timezone.localdate(timezone.now(), patient.tzinfo)
        overdue = start is None and patient.pk in due and due[patient.pk] < today
        out[patient.pk] = (start, overdue)
    return out


def follow_up_due(patient: Patient) -> dict:
    """One patient's follow-up as the worklist sees it, for every page that shows it:
    ``{"due": date or None, "overdue": bool, "next_visit": start of the next open visit or
    None}`` — the date from ``due_dates``, overdue as ``next_visit_by_patient`` says (the date
    has passed and nothing is booked). The care plan's review date is another thing.
    """
    start, overdue = next_visit_by_patient([patient.pk]).get(patient.pk, (None, False))
    return {"due": due_dates([patient]).get(patient.pk), "overdue": overdue, "next_visit": start}


def last_checks_done(patient_ids: list[int]) -> dict[int, dict[str, dt.date]]:
    """``{patient id: {check key: date last done}}`` from completed visits."""
    out: dict[int, dict[str, dt.date]] = defaultdict(dict)
    for pid, start, checks in (
        VisitCompletion.objects.filter(visit__patient_id__in=patient_ids)
        .order_by("visit__start_at")
        .values_list("visit__patient_id", "visit__start_at", "checks_done")
    ):
        for key in checks or []:
            out[pid][key] = start.date()
    return out


URGENT_REASONS = {
    "gri_zone_e": "GRI zone E",
    "very_low": "time below 54 mg/dL ≥ 1 %",
    "review_overdue": "care plan review overdue",
}


def urgent_reasons(patients: list[Patient]) -> dict[int, list[str]]:
    """Triage reasons for an urgent visit, from the 14-day rollups (never raw readings)."""
    from care_plans.services import reviews_overdue
    from readings.windows import rollup_metrics, window_dates

    start, end = window_dates()
    metrics = rollup_metrics([p.pk for p in patients], start=start, end=end)
    review = reviews_overdue(patients)
    out = {}
    for patient in patients:
        m = metrics.get(patient.pk) or {}
        reasons = []
        if m.get("gri_zone") == "E":
            reasons.append("gri_zone_e")
        if (m.get("very_low_percent") or 0) >= 1:  # Battelino 2019: < 54 mg/dL under 1 %
            reasons.append("very_low")
        if patient.pk in review:
            reasons.append("review_overdue")
        if reasons:
            out[patient.pk] = reasons
    return out


@dataclass
class WorklistRow:
    patient: Patient
    due: dt.date | None
    state: str  # "urgent" | "overdue" | "due"
    reasons: list[str] = field(default_factory=list)  # empty for staff: they see "urgent" only
    checks: list[str] = field(default_factory=list)  # check labels due by the due date
    visit_type: VisitType | None = None


def worklist(*, user: User, today: dt.date | None = None) -> list[WorklistRow]:
    """Who needs a visit booked: overdue or due within two weeks, or urgent by triage, and
    without an open visit in time. Cancelled and missed visits do not count, so those
    patients come back. Staff get "urgent" without the clinical reason."""
    patients = list(
        patients_visible_to(user).filter(care_center__isnull=False).order_by("name", "pk")
    )
    due = due_dates(patients)
    urgent = urgent_reasons([p for p in patients if p.pk in due])
    open_visits = {}
    for pid, start in (
        Visit.objects.filter(
            patient_id__in=[p.pk for p in patients],
            status__in=[Visit.Status.BOOKED, Visit.Status.CHECKED_IN],
            end_at__gte=timezone.now(),
        )
        .order_by("patient_id", "start_at")
        .values_list("patient_id", "start_at")
    ):
        open_visits.setdefault(pid, start)
    last_checks = last_checks_done([p.pk for p in patients])
    plans = {
        pid: content
        for pid, content in CarePlanVersion.objects.filter(plan__patient_id__in=list(due))
        .order_by("plan__patient_id", "number")
        .values_list("plan__patient_id", "content")
    }
    types = {t.code: t for t in VisitType.objects.filter(active=True)}
    follow_up = types.get(FOLLOW_UP_CODE) or next(
        (t for t in types.values() if t.is_follow_up), None
    )
    show_reasons = not user.is_care_staff
    rows = []
    for patient in patients:
        if patient.pk not in due:
            continue
        local_today = today or timezone.localdate(timezone.now(), patient.tzinfo)
        booked = open_visits.get(patient.pk)
        booked_date = _local_date(booked, patient) if booked else None
        if patient.pk in urgent and (
            booked_date is None or booked_date > local_today + dt.timedelta(URGENT_WITHIN_DAYS)
        ):
            state = "urgent"
        elif booked is None and due[patient.pk] < local_today:
            state = "overdue"
        elif booked is None and due[patient.pk] <= local_today + dt.timedelta(
            WORKLIST_HORIZON_DAYS
        ):
            state = "due"
        else:
            continue
        horizon = max(due[patient.pk], local_today)
        done = last_checks.get(patient.pk, {})
        checks = []
        for check in plans.get(patient.pk, {}).get("checks", []):
            last = done.get(check["key"])
            if last is None or last + dt.timedelta(days=check["interval_days"]) <= horizon:
                checks.append(str(CHECKS.get(check["key"], check.get("label", check["key"]))))
        rows.append(
            WorklistRow(
                patient=patient,
                due=due[patient.pk],
                state=state,
                reasons=urgent.get(patient.pk, []) if state == "urgent" and show_reasons else [],
                checks=checks,
                visit_type=types.get(URGENT_CODE, follow_up) if state == "urgent" else follow_up,
            )
        )
    order = {"urgent": 0, "overdue": 1, "due": 2}
    rows.sort(key=lambda r: (order[r.state], r.due or dt.date.max, r.patient.name))
    return rows
