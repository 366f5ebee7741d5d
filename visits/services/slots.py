"""Free slots: the center's zone and who may be booked, each clinician's working windows per day
(opening hours, availability and exceptions, cached), busy spans packed in the database, and
the free slots a visit type fits in (``visit_slots``, ``next_free_slots``). Also the shared
basics: ``VisitError``, ``SlotTaken``, ``Slot`` and ``ACTIVE``.
"""

from __future__ import annotations

import datetime as dt
import functools
import zoneinfo
from collections import defaultdict
from dataclasses import dataclass

import numpy as np
from django.db import connection
from django.db.models import Aggregate, BinaryField, FloatField, Func, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.access import patients_visible_to
from accounts.models import CareCenter, User
from patients.models import Patient
from visits import scheduling
from visits.models import (
    Availability,
    AvailabilityException,
    ClosedDay,
    OpeningHours,
    Visit,
    VisitType,
)

SLOT_STEP = dt.timedelta(minutes=15)
NEXT_FREE_COUNT = 5
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
