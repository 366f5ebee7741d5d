"""The visit's life: booking without double booking (the database's exclusion constraints,
retried on deadlock), rescheduling, cancelling, check-in, no-show, completion and the
patient's reschedule request. Every change records a ``VisitChange``.
"""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db import IntegrityError, OperationalError, transaction
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from accounts.models import User
from care_plans.services import CHECKS
from patients.models import Patient
from visits.models import (
    OVERLAP_CONSTRAINTS,
    Visit,
    VisitChange,
    VisitCompletion,
    VisitMessage,
    VisitType,
)
from visits.services.messages import _message_on_commit
from visits.services.results import RESULT_INPUTS, results_clean
from visits.services.slots import (
    SlotTaken,
    VisitError,
    center_zone,
    next_free_slots,
    windows_for,
)


def _window_room(*, visit_type, center, clinician, start, end) -> tuple[bool, int | None]:
    """Whether [start, end) lies in one of the clinician's bookable windows, and its room."""
    day = timezone.localdate(start, center_zone(center))
    windows = windows_for(center=center, clinician_ids=[clinician.pk], first=day, last=day)
    for window in windows[(clinician.pk, day)]:
        if window.start <= start and end <= window.end:
            return True, window.tag if visit_type.needs_room else None
    return False, None


DEADLOCK_RETRIES = 3


def _deadlocked(exc: OperationalError) -> bool:
    """PostgreSQL's 40P01: two bookings of the same time, each checking the exclusion
    constraints against the other's uncommitted row, wait for each other; the database aborts
    one. That one is simply tried again (it then meets the other's committed row: 409)."""
    return getattr(exc.__cause__, "sqlstate", None) == "40P01"


def _write_retrying_deadlocks(write):
    """Run ``write`` (a function doing its writes in ``transaction.atomic()``), again when the
    database chose it as a deadlock's victim."""
    for attempt in range(DEADLOCK_RETRIES):
        try:
            return write()
        except OperationalError as exc:
            if not _deadlocked(exc) or attempt == DEADLOCK_RETRIES - 1:
                raise


def _overlap_name(exc: IntegrityError) -> str | None:
    text = str(exc)
    for name, what in OVERLAP_CONSTRAINTS.items():
        if name in text:
            return what
    return None


def _check_bookable(*, patient, clinician, visit_type, center, start, end):
    if clinician.role not in visit_type.role_list or not clinician.is_active:
        raise VisitError(_("This clinician does not take this type of visit."))
    if clinician.care_center_id != center.pk:
        raise VisitError(_("This clinician does not work at the patient's care center."))
    if start < timezone.now():
        raise VisitError(_("A visit cannot be booked in the past."))
    fits, room = _window_room(
        visit_type=visit_type, center=center, clinician=clinician, start=start, end=end
    )
    if not fits:
        raise VisitError(_("The clinician is not available at that time."))
    return room


BOOKING_HORIZON = dt.timedelta(days=2 * 366)  # no clinic books further ahead than this


def _visit_end(start: dt.datetime, visit_type: VisitType) -> dt.datetime:
    """When a visit starting at ``start`` ends; refuses starts beyond the booking horizon
    (a start in year 9999 would overflow the end time)."""
    if start - timezone.now() > BOOKING_HORIZON:
        raise VisitError(_("Visits can be booked at most two years ahead."))
    return start + dt.timedelta(minutes=visit_type.duration_minutes)


def visit_book(
    *, patient: Patient, clinician: User, visit_type: VisitType, start: dt.datetime, by: User
) -> Visit:
    """Book a visit; raises ``VisitError`` (rules) or ``SlotTaken`` (the database said no)."""
    center = patient.care_center
    if center is None:
        raise VisitError(_("The patient has no care center."))
    if not visit_type.active:
        raise VisitError(_("This visit type is no longer offered."))
    end = _visit_end(start, visit_type)
    room = _check_bookable(
        patient=patient,
        clinician=clinician,
        visit_type=visit_type,
        center=center,
        start=start,
        end=end,
    )

    def write() -> Visit:
        with transaction.atomic():
            visit = Visit.objects.create(
                patient=patient,
                clinician=clinician,
                visit_type=visit_type,
                center=center,
                room_id=room,
                start_at=start,
                end_at=end,
                booked_by=by if by.is_authenticated else None,
            )
            VisitChange.objects.create(visit=visit, by=by, action="booked", new_start=start)
        return visit

    try:
        visit = _write_retrying_deadlocks(write)
    except IntegrityError as exc:
        what = _overlap_name(exc)
        if what is None:
            raise
        raise SlotTaken(
            what,
            next_free_slots(visit_type=visit_type, center=center, after=start, patient=patient),
        ) from None
    return visit


def _open(visit: Visit) -> None:
    if not visit.is_open:
        raise VisitError(_("This visit is already closed."))


def visit_reschedule(
    *, visit: Visit, start: dt.datetime, by: User, clinician: User | None = None
) -> Visit:
    """Move a booked visit (optionally to another clinician); the patient is told."""
    if visit.status != Visit.Status.BOOKED:
        raise VisitError(_("Only a booked visit can be moved."))
    clinician = clinician or visit.clinician
    end = _visit_end(start, visit.visit_type)
    room = _check_bookable(
        patient=visit.patient,
        clinician=clinician,
        visit_type=visit.visit_type,
        center=visit.center,
        start=start,
        end=end,
    )
    old_start = visit.start_at

    def write() -> None:
        with transaction.atomic():
            updated = Visit.objects.filter(pk=visit.pk, status=Visit.Status.BOOKED).update(
                start_at=start,
                end_at=end,
                clinician=clinician,
                room_id=room,
                reschedule_requested=False,
            )
            if not updated:
                raise VisitError(_("Only a booked visit can be moved."))
            VisitChange.objects.create(
                visit=visit, by=by, action="moved", old_start=old_start, new_start=start
            )
            _message_on_commit(visit.pk, VisitMessage.Kind.MOVED, start)

    try:
        _write_retrying_deadlocks(write)
    except IntegrityError as exc:
        what = _overlap_name(exc)
        if what is None:
            raise
        raise SlotTaken(
            what,
            next_free_slots(
                visit_type=visit.visit_type,
                center=visit.center,
                after=start,
                patient=visit.patient,
                ignore_visit=visit,
            ),
        ) from None
    visit.refresh_from_db()
    return visit


def _close(visit: Visit, *, by: User, status: str, action: str, note: str = "", **fields):
    with transaction.atomic():
        updated = Visit.objects.filter(
            pk=visit.pk, status__in=[Visit.Status.BOOKED, Visit.Status.CHECKED_IN]
        ).update(status=status, closed_at=timezone.now(), **fields)
        if not updated:
            raise VisitError(_("This visit is already closed."))
        VisitChange.objects.create(visit=visit, by=by, action=action, note=note)
    visit.refresh_from_db()
    return visit


def visit_cancel(*, visit: Visit, by: User, reason: str) -> Visit:
    """Cancel with a reason; the slot is free again and the patient is back on the worklist."""
    reason = (reason or "").strip()
    if not reason:
        raise VisitError(_("Give a reason for cancelling."))
    visit = _close(
        visit,
        by=by,
        status=Visit.Status.CANCELLED,
        action="cancelled",
        note=reason[:300],
        cancel_reason=reason[:300],
    )
    _message_on_commit(visit.pk, VisitMessage.Kind.CANCELLED, visit.start_at)
    from visits.services.waitlist import waitlist_offer_freed

    waitlist_offer_freed(visit=visit)  # the freed time goes to the waiting list (issue #19 §5)
    return visit


class CheckInTooEarly(VisitError):
    """Check-in before the visit's day (the API answers 409 with this reason)."""


def check_in_opens(visit: Visit) -> dt.datetime:
    """The first instant the visit can be checked in: ``VISIT_CHECK_IN_HOURS_BEFORE`` hours
    before its start, but never before its local day begins (the center's zone) — a visit
    two days ahead cannot be checked in, then left "Checked in" because it cannot be
    completed yet (issue #19 §5)."""
    tz = center_zone(visit.center)
    local = visit.start_at.astimezone(tz)
    day_start = dt.datetime.combine(local.date(), dt.time(0), tzinfo=tz)
    lead = dt.timedelta(hours=getattr(settings, "VISIT_CHECK_IN_HOURS_BEFORE", 2))
    return max(visit.start_at - lead, day_start)


def visit_check_in(*, visit: Visit, by: User) -> Visit:
    """Check the patient in: a booked visit, on its day, from ``check_in_opens``."""
    if visit.status == Visit.Status.BOOKED and timezone.now() < check_in_opens(visit):
        tz = center_zone(visit.center)
        raise CheckInTooEarly(
            _("Check-in opens at %(time)s on the day of the visit.")
            % {"time": date_format(check_in_opens(visit).astimezone(tz), "SHORT_DATETIME_FORMAT")}
        )
    with transaction.atomic():
        updated = Visit.objects.filter(pk=visit.pk, status=Visit.Status.BOOKED).update(
            status=Visit.Status.CHECKED_IN, checked_in_at=timezone.now()
        )
        if not updated:
            raise VisitError(_("Only a booked visit can be checked in."))
        VisitChange.objects.create(visit=visit, by=by, action="checked_in")
    visit.refresh_from_db()
    return visit


def visit_mark_no_show(*, visit: Visit, by: User) -> Visit:
    if visit.status != Visit.Status.BOOKED or visit.start_at > timezone.now():
        raise VisitError(_("Only a booked visit whose time has come can be a no-show."))
    return _close(visit, by=by, status=Visit.Status.NO_SHOW, action="no_show")


def visit_complete(*, visit: Visit, by: User, checks_done: list[str], **results) -> Visit:
    """Close the visit with the checks done and its results (``results_clean``: each with
    its unit and plausible range; HbA1c as ``hba1c`` + ``hba1c_unit`` or ``hba1c_percent``);
    the next due date and the checks due move (see ``due_dates``, ``last_checks_done``)."""
    unknown = set(checks_done) - set(CHECKS)
    if unknown:
        raise VisitError(_("Unknown checks: %(keys)s") % {"keys": ", ".join(sorted(unknown))})
    extra = set(results) - set(RESULT_INPUTS)
    if extra:
        raise VisitError(_("Unknown results: %(keys)s") % {"keys": ", ".join(sorted(extra))})
    if visit.start_at > timezone.now() + dt.timedelta(hours=12):
        raise VisitError(_("A visit cannot be completed before it happens."))
    columns = results_clean(results)
    with transaction.atomic():
        visit = _close(visit, by=by, status=Visit.Status.COMPLETED, action="completed")
        VisitCompletion.objects.create(
            visit=visit, completed_by=by, checks_done=sorted(set(checks_done)), **columns
        )
    return visit


def visit_request_reschedule(*, visit: Visit, by: User, note: str = "") -> Visit:
    """The patient asks for another time; staff see the request on the visits page."""
    if visit.status != Visit.Status.BOOKED:
        raise VisitError(_("Only a booked visit can be moved."))
    Visit.objects.filter(pk=visit.pk).update(
        reschedule_requested=True, reschedule_note=(note or "")[:300]
    )
    VisitChange.objects.create(visit=visit, by=by, action="reschedule_requested", note=note[:300])
    visit.refresh_from_db()
    return visit
