"""Visit processes: slots, booking without double booking, the visit's life, the worklist,
reminders. Pure rules live in ``visits.scheduling``; this module loads and writes.

Every function that changes visits is ``<noun>_<verb>(*, ...)`` and records a ``VisitChange``.
Messages to patients are sent by Celery tasks enqueued on commit (``visits.tasks``).
"""

from __future__ import annotations

import datetime as dt
import functools
import logging
import os
import time
import zoneinfo
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

import numpy as np
from django.conf import settings
from django.core.mail import send_mail
from django.db import IntegrityError, OperationalError, connection, transaction
from django.db.models import Aggregate, BinaryField, FloatField, Func, Q, QuerySet
from django.utils import timezone, translation
from django.utils.formats import date_format
from django.utils.module_loading import import_string
from django.utils.translation import gettext as _

from accounts.access import patients_visible_to
from accounts.models import CareCenter, User
from care_plans.models import CarePlanVersion
from care_plans.services import CHECKS
from patients.models import Patient
from visits import scheduling
from visits.models import (
    OVERLAP_CONSTRAINTS,
    Availability,
    AvailabilityException,
    ClosedDay,
    DayListSent,
    OpeningHours,
    Visit,
    VisitChange,
    VisitCompletion,
    VisitMessage,
    VisitType,
)

log = logging.getLogger(__name__)

SLOT_STEP = dt.timedelta(minutes=15)
NEXT_FREE_COUNT = 5
WORKLIST_HORIZON_DAYS = 14  # due within two weeks → on the worklist
URGENT_WITHIN_DAYS = 14  # an urgent patient needs a visit within two weeks
FOLLOW_UP_CODE = "follow_up"
URGENT_CODE = "urgent"
ACTIVE = ~Q(status=Visit.Status.CANCELLED)


class VisitError(Exception):
    """A request the rules refuse (400)."""


class SlotTaken(Exception):
    """The database refused an overlapping visit (409); ``next_free`` are alternatives."""

    def __init__(self, what: str, next_free: list[Slot]):
        self.what = what
        self.next_free = next_free
        super().__init__(what)

    @property
    def message(self) -> str:
        return {
            "clinician": _("The clinician already has a visit at that time."),
            "patient": _("The patient already has a visit at that time."),
            "room": _("The room is taken at that time."),
        }.get(self.what, _("That time is no longer free."))


@dataclass(frozen=True)
class Slot:
    start: dt.datetime
    end: dt.datetime
    clinician_id: int
    room_id: int | None


def center_zone(center: CareCenter) -> zoneinfo.ZoneInfo:
    return zoneinfo.ZoneInfo(center.timezone)


def visits_visible_to(user: User) -> QuerySet[Visit]:
    """Visits of the patients ``user`` may see, and the visits booked with ``user``."""
    if not user.is_authenticated:
        return Visit.objects.none()
    return Visit.objects.filter(
        Q(patient__in=patients_visible_to(user)) | Q(clinician=user)
    ).distinct()


def clinicians_for(*, center: CareCenter | None, visit_type: VisitType | None = None):
    qs = User.objects.filter(
        is_active=True, role__in=[User.Role.ENDOCRINOLOGIST, User.Role.NURSE, User.Role.DIETITIAN]
    )
    if center is not None:
        qs = qs.filter(care_center=center)
    if visit_type is not None:
        qs = qs.filter(role__in=visit_type.role_list)
    return qs.order_by("last_name", "first_name", "pk")


# --- Free slots ---------------------------------------------------------------------------


@functools.lru_cache(maxsize=8192)
def _day_windows(
    day: dt.date, tz_name: str, opening: tuple, sessions: tuple, blocked: tuple, closed: bool
) -> tuple[scheduling.Window, ...]:
    """``scheduling.bookable_windows``, remembered: most clinicians repeat their week."""
    return tuple(
        scheduling.bookable_windows(
            day,
            zoneinfo.ZoneInfo(tz_name),
            opening=opening,
            sessions=sessions,
            blocked=blocked,
            closed=closed,
        )
    )


@functools.lru_cache(maxsize=8192)
def _day_window_epochs(*args) -> tuple[list, list, list]:
    """``_day_windows`` as epoch starts, ends and tags (-1 = no room), remembered."""
    windows = _day_windows(*args)
    return (
        [w.start.timestamp() for w in windows],
        [w.end.timestamp() for w in windows],
        [-1 if w.tag is None else w.tag for w in windows],
    )


def _day_setup(*, center: CareCenter, clinician_ids: list[int], first: dt.date, last: dt.date):
    """Hours, holidays, sessions and exceptions in [first, last] (four queries), as a function
    of (clinician, day) giving ``_day_windows``'s arguments, or None for a day with no
    session at all (nothing to compute)."""
    opening = defaultdict(list)
    for weekday, opens, closes in OpeningHours.objects.filter(center=center).values_list(
        "weekday", "opens", "closes"
    ):
        opening[weekday].append((opens, closes))
    closed = set(
        ClosedDay.objects.filter(center=center, date__range=(first, last)).values_list(
            "date", flat=True
        )
    )
    sessions = defaultdict(list)
    for cid, weekday, starts, ends, room in Availability.objects.filter(
        center=center, clinician_id__in=clinician_ids
    ).values_list("clinician_id", "weekday", "starts", "ends", "room_id"):
        sessions[(cid, weekday)].append((starts, ends, room))
    extra, blocked, day_off = defaultdict(list), defaultdict(list), set()
    for cid, day, kind, starts, ends, room in AvailabilityException.objects.filter(
        center=center, clinician_id__in=clinician_ids, date__range=(first, last)
    ).values_list("clinician_id", "date", "kind", "starts", "ends", "room_id"):
        if kind == AvailabilityException.Kind.EXTRA:
            extra[(cid, day)].append((starts, ends, room))
        elif starts is None:
            day_off.add((cid, day))
        else:
            blocked[(cid, day)].append((starts, ends))
    hours = {weekday: tuple(sorted(periods)) for weekday, periods in opening.items()}
    week = {key: tuple(value) for key, value in sessions.items()}

    def arguments(cid: int, day: dt.date):
        key = (cid, day)
        weekday = day.weekday()
        day_sessions = week.get((cid, weekday), ())
        if key in extra:
            day_sessions += tuple(extra[key])
        if not day_sessions:
            return None
        return (
            day,
            center.timezone,
            hours.get(weekday, ()),
            day_sessions,
            tuple(blocked.get(key, ())),
            day in closed or key in day_off,
        )

    return arguments


def _each_day(*, center: CareCenter, clinician_ids: list[int], first: dt.date, last: dt.date):
    """(clinician id, day, that day's window arguments or None) for each clinician and each
    day in [first, last], in order: the one loop ``windows_for`` and ``window_epochs_for``
    share (four queries in all, made before the first answer)."""
    arguments = _day_setup(center=center, clinician_ids=clinician_ids, first=first, last=last)
    for cid in clinician_ids:
        day = first
        while day <= last:
            yield cid, day, arguments(cid, day)
            day += dt.timedelta(days=1)


def windows_for(
    *, center: CareCenter, clinician_ids: list[int], first: dt.date, last: dt.date
) -> dict[tuple[int, dt.date], tuple[scheduling.Window, ...]]:
    """Bookable windows per (clinician, day) in [first, last]: four queries in all."""
    days = _each_day(center=center, clinician_ids=clinician_ids, first=first, last=last)
    return {(cid, day): () if args is None else _day_windows(*args) for cid, day, args in days}


def window_epochs_for(
    *, center: CareCenter, clinician_ids: list[int], first: dt.date, last: dt.date
) -> dict[int, tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """The same windows as ``windows_for``, per clinician as arrays of epoch starts, ends and
    tags (room id, -1 = none), in time order: the slot search's form."""
    spans: dict[int, tuple[list, list, list]] = {}
    for cid, _day, args in _each_day(
        center=center, clinician_ids=clinician_ids, first=first, last=last
    ):
        if args is not None:
            starts, ends, tags = spans.setdefault(cid, ([], [], []))
            day_starts, day_ends, day_tags = _day_window_epochs(*args)
            starts += day_starts
            ends += day_ends
            tags += day_tags
    return {
        cid: (np.array(starts), np.array(ends), np.array(tags))
        for cid, (starts, ends, tags) in spans.items()
        if starts
    }


class Epoch(Func):
    """Seconds since 1970 as a float, computed by SQLite (PostgreSQL reads packed spans:
    ``PackedSpans``)."""

    output_field = FloatField()
    template = "ROUND((julianday(%(expressions)s) - 2440587.5) * 86400.0, 3)"


class PackedSpans(Aggregate):
    """PostgreSQL: a group's [start, end) spans as one ``bytea`` of big-endian float8 epoch
    pairs. The slot search reads every visit of every clinician in its range (30,000 rows at
    50 clinicians × 90 days); one packed value per clinician read in binary is a third of the
    cost of the rows themselves. ``DATE_PART`` is float8 (``EXTRACT`` is numeric: slower)."""

    function = "STRING_AGG"
    template = "STRING_AGG(FLOAT8SEND(DATE_PART('epoch', %(expressions)s)), ''::bytea)"
    arg_joiner = ")) || FLOAT8SEND(DATE_PART('epoch', "
    output_field = BinaryField()


def _busy_by(visits: QuerySet, key: str) -> dict[int, tuple[np.ndarray, np.ndarray]]:
    """Merged busy intervals (epoch seconds) of ``visits`` per value of ``key``."""
    visits = visits.order_by()
    if connection.vendor == "postgresql":
        query = visits.values(key).annotate(packed=PackedSpans("start_at", "end_at"))
        sql, params = query.values_list(key, "packed").query.sql_with_params()
        import psycopg  # PostgreSQL only; Django's own cursors are client-side (text)

        # Django's error wrapper, so a lost database is an OperationalError (answered 503).
        with connection.wrap_database_errors:
            connection.ensure_connection()
            with psycopg.Cursor(connection.connection) as cursor:
                cursor.execute(sql, params, binary=True)
                rows = cursor.fetchall()
        out = {}
        for value, packed in rows:
            if value is not None:
                spans = np.frombuffer(packed, dtype=">f8").reshape(-1, 2).astype(np.float64)
                out[value] = scheduling.merge_arrays(spans[:, 0], spans[:, 1])
        return out
    query = visits.filter(**{f"{key}__isnull": False}).annotate(
        s=Epoch("start_at"), e=Epoch("end_at")
    )
    sql, params = query.values_list(key, "s", "e").query.sql_with_params()
    # Straight from the cursor: the ORM's per-row converters would cost more than the search.
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = np.array(cursor.fetchall(), dtype=np.float64).reshape(-1, 3)
    out = {}
    if len(rows):
        rows = rows[np.argsort(rows[:, 0], kind="stable")]
        keys, heads = np.unique(rows[:, 0], return_index=True)
        for value, part in zip(keys, np.split(rows, heads[1:]), strict=True):
            out[int(value)] = scheduling.merge_arrays(part[:, 1], part[:, 2])
    return out


def _union(*busy) -> tuple[np.ndarray, np.ndarray]:
    busy = [b for b in busy if b is not None]
    if not busy:
        return np.empty(0), np.empty(0)
    if len(busy) == 1:
        return busy[0]
    return scheduling.merge_arrays(
        np.concatenate([b[0] for b in busy]), np.concatenate([b[1] for b in busy])
    )


_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


def visit_slots(
    *,
    visit_type: VisitType,
    center: CareCenter,
    first: dt.date,
    days: int = 1,
    clinician: User | None = None,
    patient: Patient | None = None,
    not_before: dt.datetime | None = None,
    ignore_visit: Visit | None = None,
    limit: int | None = None,
) -> list[Slot]:
    """Free slots for ``visit_type`` at ``center`` on ``days`` local days from ``first``.

    With ``clinician=None`` every eligible clinician ("first available"), earliest first.
    ``patient``'s own visits block too; ``ignore_visit`` (the visit being moved) does not.
    A handful of queries whatever the range; the overlap arithmetic is ``scheduling``'s numpy
    form (the same rule as ``scheduling.free_slots``), sorted in numpy, and only the slots
    returned (``limit``) become objects.
    """
    if clinician is not None:
        clinician_ids = [clinician.pk] if clinician.role in visit_type.role_list else []
    else:
        clinician_ids = list(
            clinicians_for(center=center, visit_type=visit_type).values_list("pk", flat=True)
        )
    if not clinician_ids:
        return []
    last = first + dt.timedelta(days=days - 1)
    tz = center_zone(center)
    windows = window_epochs_for(center=center, clinician_ids=clinician_ids, first=first, last=last)
    span_start = scheduling.to_instant(first, dt.time(0), tz)
    span_end = scheduling.to_instant(last + dt.timedelta(days=1), dt.time(0), tz)
    room_needed = visit_type.needs_room
    visits = Visit.objects.filter(ACTIVE, start_at__lt=span_end, end_at__gt=span_start)
    if ignore_visit is not None:
        visits = visits.exclude(pk=ignore_visit.pk)
    by_clinician = _busy_by(visits.filter(clinician_id__in=clinician_ids), "clinician_id")
    by_room = (
        _busy_by(visits.filter(center=center, room__isnull=False), "room_id") if room_needed else {}
    )
    patient_busy = (
        _busy_by(visits.filter(patient=patient), "patient_id").get(patient.pk)
        if patient is not None
        else None
    )
    duration = visit_type.duration_minutes * 60.0
    lower = (not_before or timezone.now()).timestamp()
    found_starts, found_clinicians, found_rooms = [], [], []
    for cid in clinician_ids:
        if cid not in windows:
            continue
        starts, ends, tags = windows[cid]
        begin, index = scheduling.grid_starts(
            starts,
            ends,
            duration=duration,
            step=SLOT_STEP.total_seconds(),
            not_before=lower,
        )
        busy = _union(by_clinician.get(cid), patient_busy)
        free = scheduling.free_mask(begin, duration, *busy)
        rooms = tags[index]
        if room_needed:
            for room in np.unique(rooms):
                if room in by_room:
                    mask = rooms == room
                    free[mask] &= scheduling.free_mask(begin[mask], duration, *by_room[room])
        found_starts.append(begin[free])
        found_rooms.append(rooms[free])
        found_clinicians.append(np.full(int(free.sum()), cid))
    if not found_starts:
        return []
    starts = np.concatenate(found_starts)
    cids = np.concatenate(found_clinicians)
    rooms = np.concatenate(found_rooms)
    order = np.lexsort((cids, starts))  # earliest first, then by clinician
    if limit:
        order = order[:limit]
    length = dt.timedelta(seconds=duration)
    slots = []
    for start, cid, room in zip(
        starts[order].tolist(), cids[order].tolist(), rooms[order].tolist(), strict=True
    ):
        at = _EPOCH + dt.timedelta(seconds=start)
        slots.append(Slot(at, at + length, cid, None if room < 0 else room))
    return slots


def next_free_slots(
    *, visit_type, center, after: dt.datetime, clinician=None, patient=None, ignore_visit=None
) -> list[Slot]:
    """The next few free slots from ``after`` (searching up to four weeks ahead)."""
    first = timezone.localdate(after, center_zone(center))
    return visit_slots(
        visit_type=visit_type,
        center=center,
        first=first,
        days=28,
        clinician=clinician,
        patient=patient,
        not_before=max(after, timezone.now()),
        ignore_visit=ignore_visit,
        limit=NEXT_FREE_COUNT,
    )


# --- The visit's life ---------------------------------------------------------------------


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
    return visit


def visit_check_in(*, visit: Visit, by: User) -> Visit:
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


def visit_complete(
    *,
    visit: Visit,
    by: User,
    checks_done: list[str],
    hba1c_percent: Decimal | None = None,
    eyes: str = "",
    egfr: int | None = None,
    urine_acr_mg_g: Decimal | None = None,
    feet: str = "",
) -> Visit:
    """Close the visit with the checks done; the next due date moves (see ``due_dates``)."""
    unknown = set(checks_done) - set(CHECKS)
    if unknown:
        raise VisitError(_("Unknown checks: %(keys)s") % {"keys": ", ".join(sorted(unknown))})
    if visit.start_at > timezone.now() + dt.timedelta(hours=12):
        raise VisitError(_("A visit cannot be completed before it happens."))
    results = {"hba1c_percent": hba1c_percent, "eyes": eyes, "egfr": egfr}
    results.update(urine_acr_mg_g=urine_acr_mg_g, feet=feet)
    with transaction.atomic():
        visit = _close(visit, by=by, status=Visit.Status.COMPLETED, action="completed")
        VisitCompletion.objects.create(
            visit=visit, completed_by=by, checks_done=sorted(set(checks_done)), **results
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


# --- Due dates and the worklist -----------------------------------------------------------


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


# --- Messages to patients and clinicians --------------------------------------------------


def reminder_lead() -> dt.timedelta:
    return dt.timedelta(hours=getattr(settings, "VISIT_REMINDER_HOURS", 24))


def _message_on_commit(visit_id: int, kind: str, visit_start: dt.datetime) -> None:
    from outbox.services import task_enqueue
    from visits.tasks import send_visit_message

    # Recorded with the change, sent on commit; kept for later if the broker is down.
    task_enqueue(send_visit_message, visit_id, kind, visit_start.isoformat())


def reminders_due(*, now: dt.datetime | None = None) -> list[tuple[int, str]]:
    """(visit id, start) of booked visits within the reminder lead time, not yet reminded."""
    now = now or timezone.now()
    sent = VisitMessage.objects.filter(
        kind=VisitMessage.Kind.REMINDER,
        status__in=[VisitMessage.Status.SENT, VisitMessage.Status.SKIPPED],
    ).values_list("visit_id", "visit_start")
    done = set(sent)
    rows = Visit.objects.filter(
        status=Visit.Status.BOOKED, start_at__gt=now, start_at__lte=now + reminder_lead()
    ).values_list("pk", "start_at")
    return [(pk, start.isoformat()) for pk, start in rows if (pk, start) not in done]


class ConsoleSms:
    """The SMS interface: ``send(to, text)``. This one prints; a real gateway replaces it
    through ``VISIT_SMS_BACKEND``."""

    def send(self, to: str, text: str) -> None:
        print(f"SMS to {to}: {text}", flush=True)


def sms_backend():
    return import_string(getattr(settings, "VISIT_SMS_BACKEND", "visits.services.ConsoleSms"))()


def _message_text(visit: Visit, kind: str) -> tuple[str, str]:
    """(subject, text) in the active language, the time in the patient's zone."""
    local = visit.start_at.astimezone(visit.patient.tzinfo)
    when = f"{date_format(local, 'DATE_FORMAT')} {local:%H:%M} ({visit.patient.timezone})"
    what = {"type": visit.visit_type.label, "when": when, "clinician": str(visit.clinician)}
    if kind == VisitMessage.Kind.CANCELLED:
        return _("Visit cancelled"), _(
            "Your %(type)s visit on %(when)s with %(clinician)s has been cancelled."
        ) % what
    if kind == VisitMessage.Kind.MOVED:
        return _("Visit moved"), _(
            "Your %(type)s visit with %(clinician)s has been moved to %(when)s."
        ) % what
    return _("Visit reminder"), _(
        "Reminder: your %(type)s visit with %(clinician)s is on %(when)s."
    ) % what


def visit_message_send(*, visit_id: int, kind: str, visit_start: dt.datetime) -> str:
    """Send one message about a visit, once: the row's unique key absorbs repeats and a
    conditional update claims it; a claim older than the lease (a worker killed mid-send) may
    be taken again. Stale messages (the visit moved or was cancelled since) are skipped.

    Returns the final status ("sent", "skipped", or "busy" when another worker holds it).
    """
    message, _created = VisitMessage.objects.get_or_create(
        visit_id=visit_id, kind=kind, visit_start=visit_start
    )
    if message.status in (VisitMessage.Status.SENT, VisitMessage.Status.SKIPPED):
        return message.status
    now = timezone.now()
    lease = dt.timedelta(seconds=getattr(settings, "VISIT_MESSAGE_LEASE_SECONDS", 300))
    claimed = VisitMessage.objects.filter(
        Q(status=VisitMessage.Status.PENDING)
        | Q(status=VisitMessage.Status.SENDING, claimed_at__lt=now - lease),
        pk=message.pk,
    ).update(status=VisitMessage.Status.SENDING, claimed_at=now, attempts=message.attempts + 1)
    if not claimed:
        return "busy"
    visit = Visit.objects.select_related("patient", "clinician", "visit_type").get(pk=visit_id)
    stale = (kind == VisitMessage.Kind.REMINDER and visit.status != Visit.Status.BOOKED) or (
        kind != VisitMessage.Kind.CANCELLED and visit.start_at != visit_start
    )
    if stale:
        VisitMessage.objects.filter(pk=message.pk).update(status=VisitMessage.Status.SKIPPED)
        return VisitMessage.Status.SKIPPED
    delay = float(os.environ.get("VISITS_TEST_SEND_DELAY_SECONDS", "0"))  # broker tests only
    if delay:
        time.sleep(delay)
    patient = visit.patient
    with translation.override(patient.language or settings.LANGUAGE_CODE):
        subject, text = _message_text(visit, kind)
    channels = ["in_app"]
    email = patient.email or (patient.user.email if patient.user else "")
    if email:
        send_mail(subject, text, None, [email])
        channels.append("email")
    if patient.phone:
        sms_backend().send(patient.phone, text)
        channels.append("sms")
    VisitMessage.objects.filter(pk=message.pk).update(
        status=VisitMessage.Status.SENT,
        sent_at=timezone.now(),
        channels=",".join(channels),
        text=text,
    )
    return VisitMessage.Status.SENT


def clinician_day_lists(*, day: dt.date | None = None) -> int:
    """E-mail every clinician their visits of ``day`` (default tomorrow), once per day."""
    day = day or timezone.localdate() + dt.timedelta(days=1)
    sent = 0
    for clinician in clinicians_for(center=None):
        tz = center_zone(clinician.care_center) if clinician.care_center else dt.UTC
        start = scheduling.to_instant(day, dt.time(0), tz)
        end = scheduling.to_instant(day + dt.timedelta(days=1), dt.time(0), tz)
        visits = list(
            Visit.objects.filter(
                clinician=clinician,
                status=Visit.Status.BOOKED,
                start_at__gte=start,
                start_at__lt=end,
            ).select_related("patient", "visit_type")
        )
        if not visits or not clinician.email:
            continue
        try:
            with transaction.atomic():
                DayListSent.objects.create(clinician=clinician, date=day)
        except IntegrityError:
            continue  # already sent (the unique constraint absorbs a second run)
        with translation.override(clinician.language or settings.LANGUAGE_CODE):
            lines = [
                f"{v.start_at.astimezone(tz):%H:%M} {v.patient.name} ({v.patient.mrn}) "
                f"— {v.visit_type.label}"
                for v in visits
            ]
            subject = _("Your visits on %(day)s") % {"day": date_format(day, "DATE_FORMAT")}
        send_mail(subject, "\n".join(lines), None, [clinician.email])
        sent += 1
    return sent
