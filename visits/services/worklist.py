"""Due dates and the worklist: when each patient's follow-up is due, their next visit, the
checks last done, the urgent reasons, and the rows of the staff's and clinicians' worklist.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from collections import defaultdict
from dataclasses import dataclass, field

from django.db.models import OuterRef, Subquery
from django.utils import timezone

from accounts.access import patients_visible_to
from accounts.models import User
from care_plans.models import CarePlanVersion
from care_plans.services import CHECKS
from common.compiled import CompiledRead
from patients.models import Patient
from visits.models import Visit, VisitCompletion, VisitType
from visits.models_frontdesk import OutreachAttempt
from visits.services.outreach import (
    NOT_CONTACTED,
    OUTREACH_STATES,
    contact_email,
    latest_outreach,
    preferences_for,
    preferred_channel,
)

WORKLIST_HORIZON_DAYS = 14  # due within two weeks → on the worklist
URGENT_WITHIN_DAYS = 14  # an urgent patient needs a visit within two weeks
FOLLOW_UP_CODE = "follow_up"
URGENT_CODE = "urgent"


def _local_date(instant: dt.datetime, patient: Patient) -> dt.date:
    return timezone.localdate(instant, patient.tzinfo)


def due_dates(
    patients: list[Patient], *, versions: dict[int, CarePlanVersion] | None = None
) -> dict[int, dt.date]:
    """When each patient's next follow-up is due: two queries for the whole list (one when
    the caller passes ``versions``, the patients' current plan versions it already read:
    ``{patient id: version}`` with ``created_at`` and ``visit_cadence_days``).

    The one rule of a follow-up's due date (the worklist, triage, the workspace and every
    page the patient reads, through ``follow_up_due``): the last completed follow-up visit
    (else the day the current plan version was written) + the current plan's visit cadence.
    Patients without a plan are left out (nothing to schedule from).
    """
    by_id = {p.pk: p for p in patients}
    plans = {}
    if versions is not None:
        for pid, version in versions.items():
            plans[pid] = (version.created_at, version.visit_cadence_days)
    elif len(by_id) == 1:  # one patient's page: the compiled reads below
        (pid,) = by_id
        plan = _ONES_PLAN.first(pid)
        if plan is not None:
            plans[pid] = plan
    else:
        for pid, created_at, cadence in (
            CarePlanVersion.objects.filter(plan__patient_id__in=list(by_id))
            .order_by("plan__patient_id", "-number")
            .values_list("plan__patient_id", "created_at", "visit_cadence_days")
        ):
            plans.setdefault(pid, (created_at, cadence))
    if not plans:
        return {}
    last = {}
    if len(plans) == 1:
        (pid,) = plans
        start = _ONES_LAST_FOLLOW_UP.first(pid)
        if start is not None:
            last[pid] = start
    else:
        for pid, start in (
            Visit.objects.filter(
                patient_id__in=list(plans),
                status=Visit.Status.COMPLETED,
                visit_type__is_follow_up=True,
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


def _open_visits(now: dt.datetime | None = None):
    """Visits still to come or under way at ``now`` (default: now): booked or checked in,
    not yet ended."""
    return Visit.objects.filter(
        status__in=[Visit.Status.BOOKED, Visit.Status.CHECKED_IN],
        end_at__gte=timezone.now() if now is None else now,
    )


# One patient's follow-up, for the pages that show one (the report page's next-visit line,
# the patient's home): the rows the list queries of ``due_dates`` and
# ``next_visit_by_patient`` give for a list of one, read by queries compiled once (building
# the three was ~1 ms of each report page's Python, #23).
_ONES_PLAN = CompiledRead(
    lambda pid: (
        CarePlanVersion.objects.filter(plan__patient_id=pid)
        .order_by("-number")
        .values_list("created_at", "visit_cadence_days")[:1]
    )
)
_ONES_LAST_FOLLOW_UP = CompiledRead(
    lambda pid: (
        Visit.objects.filter(
            patient_id=pid, status=Visit.Status.COMPLETED, visit_type__is_follow_up=True
        )
        .order_by("-start_at")
        .values_list("start_at", flat=True)[:1]
    )
)
_ONES_NEXT_OPEN = CompiledRead(
    lambda pid, now: (
        _open_visits(now)
        .filter(patient_id=pid)
        .order_by("start_at")
        .values_list("start_at", flat=True)[:1]
    ),
    kinds=(int, dt.datetime),
)


def next_visit_start() -> Subquery:
    """The start of the next open visit of the patient ``OuterRef("pk")``: a subquery for a
    caller's own query of the patients, whose results it passes to ``next_visit_by_patient``
    as ``upcoming`` (one round trip less)."""
    first = _open_visits().filter(patient_id=OuterRef("pk")).order_by("start_at")
    return Subquery(first.values("start_at")[:1])


def next_visit_by_patient(
    patient_ids: list[int],
    *,
    patients: list[Patient] | None = None,
    due: dict[int, dt.date] | None = None,
    upcoming: dict[int, dt.datetime] | None = None,
) -> dict[int, tuple[dt.datetime | None, bool]]:
    """``{patient id: (start of the next open visit or None, visit overdue)}`` for many
    patients in four queries (for triage and other lists); three when the caller passes the
    ``patients`` themselves (already fetched, the ones of ``patient_ids``), one when it also
    passes their ``due_dates``, none when it also passes ``upcoming`` (``{patient id: start}``
    of those with an open visit, read with ``next_visit_start``).

    Overdue: the plan's follow-up due date has passed and no visit is booked.
    """
    if patients is None:
        patients = list(Patient.objects.filter(pk__in=patient_ids))
    if due is None:
        due = due_dates(patients)
    if upcoming is None and len(patient_ids) == 1:
        (pid,) = patient_ids
        start = _ONES_NEXT_OPEN.first(pid, timezone.now())
        upcoming = {} if start is None else {pid: start}
    elif upcoming is None:
        upcoming = {}
        for pid, start in (
            _open_visits()
            .filter(patient_id__in=patient_ids)
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


# A result recorded at a visit counts as its check done that day, ticked or not.
RESULT_CHECKS = {
    "hba1c_percent": "hba1c",
    "hba1c_mmol_mol": "hba1c",
    "eyes": "eyes",
    "retinopathy_grade": "eyes",
    "egfr": "kidneys",
    "urine_acr_mg_g": "kidneys",
    "feet": "feet",
    "foot_risk": "feet",
    "systolic_mm_hg": "blood_pressure",
}


def last_checks_done(patient_ids: list[int]) -> dict[int, dict[str, dt.date]]:
    """``{patient id: {check key: date last done}}`` from completed visits: the checks ticked
    and every result recorded (``RESULT_CHECKS``), on the visit's day in the patient's zone."""
    zones = dict(Patient.objects.filter(pk__in=patient_ids).values_list("pk", "timezone"))
    out: dict[int, dict[str, dt.date]] = defaultdict(dict)
    fields = list(RESULT_CHECKS)
    for pid, start, checks, *results in (
        VisitCompletion.objects.filter(visit__patient_id__in=patient_ids)
        .order_by("visit__start_at")
        .values_list("visit__patient_id", "visit__start_at", "checks_done", *fields)
    ):
        day = timezone.localdate(start, zoneinfo.ZoneInfo(zones.get(pid) or "UTC"))
        keys = set(checks or [])
        keys |= {
            RESULT_CHECKS[f] for f, v in zip(fields, results, strict=True) if v not in (None, "")
        }
        for key in keys:
            out[pid][key] = day
    return out


URGENT_REASONS = {
    "gri_zone_e": "GRI zone E",
    "very_low": "time below 54 mg/dL ≥ 1 %",
}
# The annual checks a long visit is for: when one is due, the annual review is the type.
ANNUAL_CHECKS = frozenset({"eyes", "kidneys", "feet"})
ANNUAL_REVIEW_CODE = "annual_review"


def urgent_reasons(patients: list[Patient]) -> dict[int, list[str]]:
    """Triage reasons for an urgent visit, from the 14-day rollups (never raw readings).

    Glucose only: a care plan whose review date has passed is the endocrinologist's desk work
    (triage flags it), not a reason to see the patient within two weeks — counting it made
    patients due next year "Urgent" on the worklist (issue #19 §1)."""
    from readings.windows import rollup_metrics, window_dates

    start, end = window_dates()
    metrics = rollup_metrics([p.pk for p in patients], start=start, end=end)
    out = {}
    for patient in patients:
        m = metrics.get(patient.pk) or {}
        reasons = []
        if m.get("gri_zone") == "E":
            reasons.append("gri_zone_e")
        if (m.get("very_low_percent") or 0) >= 1:  # Battelino 2019: < 54 mg/dL under 1 %
            reasons.append("very_low")
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
    no_show: bool = False  # missed their last visit (and nothing booked since)
    preferred_channel: str = ""
    email: str = ""
    last_outreach: OutreachAttempt | None = None
    clinicians: str = ""  # the care team's names, for sorting and reading

    @property
    def outreach_state(self) -> str:
        """The latest attempt's outcome since the patient was last seen, else
        "not_contacted"."""
        return self.last_outreach.outcome if self.last_outreach else NOT_CONTACTED

    def retry_due(self, today: dt.date) -> bool:
        retry = self.last_outreach.retry_on if self.last_outreach else None
        return retry is not None and retry <= today


def _seen_and_missed(patient_ids: list[int]) -> tuple[dict[int, dt.datetime], set[int]]:
    """(start of each patient's last completed visit, ids whose last closed visit since
    then was a no-show)."""
    seen: dict[int, dt.datetime] = {}
    missed: set[int] = set()
    rows = (
        Visit.objects.filter(
            patient_id__in=patient_ids,
            status__in=[Visit.Status.COMPLETED, Visit.Status.NO_SHOW],
        )
        .order_by("patient_id", "-start_at")
        .values_list("patient_id", "start_at", "status")
    )
    first = set()
    for pid, start, status in rows:
        if pid not in first:
            first.add(pid)
            if status == Visit.Status.NO_SHOW:
                missed.add(pid)
        if status == Visit.Status.COMPLETED:
            seen.setdefault(pid, start)
    return seen, missed


def suggested_visit_type(
    types: dict[str, VisitType], *, urgent: bool, check_keys: set[str]
) -> VisitType | None:
    """The visit to book: the annual review when an eye, kidney or foot check is due (it has
    the time for them, urgent or not); else the urgent review for an urgent patient; else the
    follow-up. A type missing from the catalogue falls back to the follow-up."""
    follow_up = types.get(FOLLOW_UP_CODE) or next(
        (t for t in types.values() if t.is_follow_up), None
    )
    if check_keys & ANNUAL_CHECKS and ANNUAL_REVIEW_CODE in types:
        return types[ANNUAL_REVIEW_CODE]
    if urgent:
        return types.get(URGENT_CODE, follow_up)
    return follow_up


def worklist(
    *, user: User, today: dt.date | None = None, patient: Patient | None = None
) -> list[WorklistRow]:
    """Who needs a visit booked: overdue or due within two weeks, urgent by triage, or back
    after a no-show, and without an open visit in time. Cancelled and missed visits do not
    count, so those patients come back. Staff get "urgent" without the clinical reason.

    Urgent clears once the patient is booked within the two weeks or has been seen (a
    completed visit) since the triage window began; an urgent row is due within two weeks.
    """
    from readings.windows import window_dates

    visible = patients_visible_to(user)
    if patient is not None:  # one patient's row (the booking page's suggested type)
        visible = visible.filter(pk=patient.pk)
    patients = list(
        visible.filter(care_center__isnull=False)
        .select_related("user", "care_center")
        .prefetch_related("endocrinologists")
        .order_by("name", "pk")
    )
    due = due_dates(patients)
    ids = [p.pk for p in patients]
    urgent = urgent_reasons([p for p in patients if p.pk in due])
    seen, missed = _seen_and_missed(ids)
    window_start = window_dates()[0]
    open_visits = {}
    for pid, start in (
        Visit.objects.filter(
            patient_id__in=ids,
            status__in=[Visit.Status.BOOKED, Visit.Status.CHECKED_IN],
            end_at__gte=timezone.now(),
        )
        .order_by("patient_id", "start_at")
        .values_list("patient_id", "start_at")
    ):
        open_visits.setdefault(pid, start)
    last_checks = last_checks_done(ids)
    plans = {
        pid: content
        for pid, content in CarePlanVersion.objects.filter(plan__patient_id__in=list(due))
        .order_by("plan__patient_id", "number")
        .values_list("plan__patient_id", "content")
    }
    types = {t.code: t for t in VisitType.objects.filter(active=True)}
    preferences = preferences_for(ids)
    outreach = latest_outreach(ids, since=seen)
    show_reasons = not user.is_care_staff
    rows = []
    for patient in patients:
        if patient.pk not in due:
            continue
        local_today = today or timezone.localdate(timezone.now(), patient.tzinfo)
        booked = open_visits.get(patient.pk)
        booked_date = _local_date(booked, patient) if booked else None
        last_seen = seen.get(patient.pk)
        seen_lately = last_seen is not None and _local_date(last_seen, patient) >= window_start
        no_show = patient.pk in missed and booked is None
        if (
            patient.pk in urgent
            and not seen_lately
            and (
                booked_date is None or booked_date > local_today + dt.timedelta(URGENT_WITHIN_DAYS)
            )
        ):
            state = "urgent"
        elif booked is None and due[patient.pk] < local_today:
            state = "overdue"
        elif booked is None and (
            no_show or due[patient.pk] <= local_today + dt.timedelta(WORKLIST_HORIZON_DAYS)
        ):
            state = "due"
        else:
            continue
        row_due = due[patient.pk]
        if state == "urgent":  # needed within two weeks, whatever the plan's cadence says
            row_due = min(row_due, local_today + dt.timedelta(URGENT_WITHIN_DAYS))
        horizon = max(row_due, local_today)
        done = last_checks.get(patient.pk, {})
        checks, keys = [], set()
        for check in plans.get(patient.pk, {}).get("checks", []):
            last = done.get(check["key"])
            if last is None or last + dt.timedelta(days=check["interval_days"]) <= horizon:
                keys.add(check["key"])
                checks.append(str(CHECKS.get(check["key"], check.get("label", check["key"]))))
        rows.append(
            WorklistRow(
                patient=patient,
                due=row_due,
                state=state,
                reasons=urgent.get(patient.pk, []) if state == "urgent" and show_reasons else [],
                checks=checks,
                visit_type=suggested_visit_type(types, urgent=state == "urgent", check_keys=keys),
                no_show=no_show,
                preferred_channel=preferred_channel(patient, preferences.get(patient.pk, "")),
                email=contact_email(patient),
                last_outreach=outreach.get(patient.pk),
                clinicians=", ".join(sorted(str(c) for c in patient.endocrinologists.all())),
            )
        )
    order = {"urgent": 0, "overdue": 1, "due": 2}
    rows.sort(key=lambda r: (order[r.state], r.due or dt.date.max, r.patient.name))
    return rows


def suggested_visit_type_for(*, user: User, patient: Patient) -> VisitType | None:
    """The visit type the worklist suggests for ``patient`` (None when they are not on it):
    the booking pages open on it (eye and kidney checks due: the annual review)."""
    rows = worklist(user=user, patient=patient)
    return rows[0].visit_type if rows else None


WORKLIST_SORTS = ("due", "center", "clinician")
RETRY_DUE = "retry_due"


def worklist_view(
    rows: list[WorklistRow], *, outreach: str = "", sort: str = "", today: dt.date | None = None
) -> list[WorklistRow]:
    """The rows filtered by outreach state (``OUTREACH_STATES`` or "retry_due": the "try
    again on" date has come) and sorted by due date, center or clinician (default: urgent
    first, then by due date). Unknown values leave the list as it is."""
    today = today or timezone.localdate()
    if outreach == RETRY_DUE:
        rows = [r for r in rows if r.retry_due(today)]
    elif outreach in OUTREACH_STATES:
        rows = [r for r in rows if r.outreach_state == outreach]
    if sort == "due":
        rows = sorted(rows, key=lambda r: (r.due or dt.date.max, r.patient.name))
    elif sort == "center":
        rows = sorted(rows, key=lambda r: (str(r.patient.care_center), r.due or dt.date.max))
    elif sort == "clinician":
        rows = sorted(rows, key=lambda r: (r.clinicians or "\uffff", r.due or dt.date.max))
    return rows
