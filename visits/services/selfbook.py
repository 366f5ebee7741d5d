"""Patients book for themselves (issue #19 §2): the visit types they may book, the free slots
of their own care team, booking, moving and cancelling within the center's change window, and
a request when no time suits.

The same slot search (``visit_slots``) and the same database rules (``visit_book``,
``visit_reschedule``, ``visit_cancel``) as staff: this module only narrows who and what a
patient may choose. The window rule is pure (``visits.desk_rules``).

Care team: the endocrinologists on the patient's care team; a type other roles take (nurse,
dietitian) is taken by that role at the patient's care center (they are the center's team).
"""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.access import patients_visible_to
from accounts.models import User
from patients.models import Patient
from visits import desk_rules
from visits.models import Visit, VisitRequest, VisitType
from visits.services.lifecycle import visit_book, visit_cancel, visit_reschedule
from visits.services.slots import Slot, VisitError, clinicians_for, visit_slots


def change_hours() -> int:
    """The center's rule: patients book, move or cancel at least this many hours ahead."""
    return int(getattr(settings, "VISIT_PATIENT_CHANGE_HOURS", desk_rules.DEFAULT_CHANGE_HOURS))


def bookable_types() -> QuerySet[VisitType]:
    return VisitType.objects.filter(active=True, patient_bookable=True)


def care_team(*, patient: Patient, visit_type: VisitType) -> QuerySet[User]:
    """The clinicians ``patient`` may book ``visit_type`` with (see the module docstring)."""
    if patient.care_center is None:
        return User.objects.none()
    team = patient.endocrinologists.values_list("pk", flat=True)
    return clinicians_for(center=patient.care_center, visit_type=visit_type).filter(
        ~Q(role=User.Role.ENDOCRINOLOGIST) | Q(pk__in=list(team))
    )


def patient_may_change(visit_start: dt.datetime, *, now: dt.datetime | None = None) -> bool:
    return desk_rules.patient_may_change(visit_start, now or timezone.now(), change_hours())


def _check_window(start: dt.datetime) -> None:
    if not patient_may_change(start):
        raise VisitError(
            _(
                "Visits can be booked, moved or cancelled online until %(hours)s hours before "
                "they start; please call your care center."
            )
            % {"hours": change_hours()}
        )


def self_slots(
    *,
    patient: Patient,
    visit_type: VisitType,
    first: dt.date,
    days: int = 7,
    ignore_visit: Visit | None = None,
    limit: int | None = 60,
) -> list[Slot]:
    """Free slots of the patient's care team for ``visit_type``, from the change window on."""
    team = set(care_team(patient=patient, visit_type=visit_type).values_list("pk", flat=True))
    if not team or not visit_type.patient_bookable or not visit_type.active:
        return []
    slots = visit_slots(
        visit_type=visit_type,
        center=patient.care_center,
        first=first,
        days=days,
        patient=patient,
        not_before=desk_rules.earliest_patient_start(timezone.now(), change_hours()),
        ignore_visit=ignore_visit,
    )
    slots = [slot for slot in slots if slot.clinician_id in team]
    return slots[:limit] if limit else slots


def _check_choice(*, patient: Patient, visit_type: VisitType, clinician: User) -> None:
    if not visit_type.patient_bookable or not visit_type.active:
        raise VisitError(_("This type of visit is booked by your care center."))
    if not care_team(patient=patient, visit_type=visit_type).filter(pk=clinician.pk).exists():
        raise VisitError(_("Choose a clinician of your care team."))


def self_book(
    *, patient: Patient, clinician: User, visit_type: VisitType, start: dt.datetime, by: User
) -> Visit:
    """A patient books for themselves: ``VisitError`` (rules) or ``SlotTaken`` (the database
    said no, with the next free times), as staff booking."""
    _check_choice(patient=patient, visit_type=visit_type, clinician=clinician)
    _check_window(start)
    visit = visit_book(
        patient=patient, clinician=clinician, visit_type=visit_type, start=start, by=by
    )
    VisitRequest.objects.filter(patient=patient, handled_at__isnull=True).update(
        handled_at=timezone.now(), handled_by=by
    )
    return visit


def self_move(*, visit: Visit, clinician: User, start: dt.datetime, by: User) -> Visit:
    """A patient moves their own booked visit, both times inside the change window."""
    _check_window(visit.start_at)
    _check_choice(patient=visit.patient, visit_type=visit.visit_type, clinician=clinician)
    _check_window(start)
    return visit_reschedule(visit=visit, start=start, by=by, clinician=clinician)


def self_cancel(*, visit: Visit, by: User, reason: str) -> Visit:
    _check_window(visit.start_at)
    return visit_cancel(visit=visit, by=by, reason=reason)


def check_patient_window(visit: Visit) -> None:
    """For the other paths a patient cancels by (the visit page, the API)."""
    _check_window(visit.start_at)


def booking_prompt(patient: Patient) -> bool:
    """Whether the patient's home page offers "Book your follow-up" (``desk_rules``)."""
    from visits.services.worklist import WORKLIST_HORIZON_DAYS, follow_up_due

    follow_up = follow_up_due(patient)
    return desk_rules.prompt_to_book(
        follow_up["due"],
        timezone.localdate(timezone.now(), patient.tzinfo),
        has_next_visit=follow_up["next_visit"] is not None,
        horizon_days=WORKLIST_HORIZON_DAYS,
    )


def visit_request_create(
    *, patient: Patient, visit_type: VisitType | None, note: str, by: User
) -> VisitRequest:
    """No time suits: the patient says which days or times would; one open request each
    (a second replaces the first's note)."""
    note = (note or "").strip()[:300]
    if not note:
        raise VisitError(_("Say which days or times suit you."))
    existing = VisitRequest.objects.filter(patient=patient, handled_at__isnull=True).first()
    if existing is not None:
        existing.note, existing.visit_type = note, visit_type
        existing.save(update_fields=["note", "visit_type"])
        return existing
    return VisitRequest.objects.create(patient=patient, visit_type=visit_type, note=note)


def visit_requests_open(user: User) -> QuerySet[VisitRequest]:
    """Open requests of the patients ``user`` may see (staff and clinicians)."""
    return (
        VisitRequest.objects.filter(handled_at__isnull=True, patient__in=patients_visible_to(user))
        .select_related("patient", "visit_type")
        .order_by("created_at", "pk")
    )


def visit_request_close(*, request: VisitRequest, by: User) -> VisitRequest:
    VisitRequest.objects.filter(pk=request.pk, handled_at__isnull=True).update(
        handled_at=timezone.now(), handled_by=by
    )
    request.refresh_from_db()
    return request
