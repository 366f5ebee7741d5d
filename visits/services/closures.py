"""Closing a day or a leave moves its visits (issue #19 §3): the booked visits that fall in
closed time (a closed day of the center, a clinician's whole-day or part-day leave or
training), the free slots each could move to, and moving or cancelling them one by one or all
at once. Each patient gets the "moved" or "cancelled" message through ``visit_reschedule`` and
``visit_cancel`` (the outbox). The choice of slot is pure (``visits.desk_rules``).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass

from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import CareCenter, User
from visits import desk_rules, scheduling
from visits.models import AvailabilityException, ClosedDay, Visit
from visits.services.lifecycle import visit_cancel, visit_reschedule
from visits.services.slots import Slot, SlotTaken, VisitError, center_zone, visit_slots

SEARCH_DAYS = 28  # how far ahead a moved visit looks for a free time
MOVE_ATTEMPTS = 3  # someone may take the slot between the search and the move


@dataclass(frozen=True)
class ClosedTime:
    """Closed time of a center from a day on: whole closed days, and per clinician and day
    the leave (``None`` = the whole day, else the wall-clock periods)."""

    days: frozenset
    leave: dict


def closed_time(*, center: CareCenter, first: dt.date) -> ClosedTime:
    leave: dict = defaultdict(list)
    for cid, day, starts, ends in (
        AvailabilityException.objects.filter(center=center, date__gte=first)
        .exclude(kind=AvailabilityException.Kind.EXTRA)
        .values_list("clinician_id", "date", "starts", "ends")
    ):
        if starts is None:
            leave[(cid, day)] = None
        elif leave.get((cid, day), []) is not None:
            leave[(cid, day)].append((starts, ends))
    days = ClosedDay.objects.filter(center=center, date__gte=first).values_list("date", flat=True)
    return ClosedTime(days=frozenset(days), leave=dict(leave))


def _in_closed_time(visit: Visit, closed: ClosedTime, tz) -> bool:
    day = timezone.localdate(visit.start_at, tz)
    last_day = timezone.localdate(visit.end_at - dt.timedelta(microseconds=1), tz)
    for d in {day, last_day}:
        if d in closed.days:
            return True
        key = (visit.clinician_id, d)
        if key not in closed.leave:
            continue
        periods = closed.leave[key]
        day_start = scheduling.to_instant(d, dt.time(0), tz)
        day_end = scheduling.to_instant(d + dt.timedelta(days=1), dt.time(0), tz)
        spans = desk_rules.closed_spans(
            day_start,
            day_end,
            blocked=[
                (scheduling.to_instant(d, s, tz), scheduling.to_instant(d, e, tz))
                for s, e in (periods or [])
            ],
            whole_day=periods is None,
        )
        if desk_rules.overlaps_any(visit.start_at, visit.end_at, spans):
            return True
    return False


def visits_in_closed_time(*, center: CareCenter, clinician: User | None = None) -> list[Visit]:
    """Booked visits of ``center`` from now on that fall in closed time, earliest first."""
    tz = center_zone(center)
    now = timezone.now()
    today = timezone.localdate(now, tz)
    closed = closed_time(center=center, first=today)
    dates = set(closed.days) | {day for _cid, day in closed.leave}
    if not dates:
        return []
    end = scheduling.to_instant(max(dates) + dt.timedelta(days=1), dt.time(0), tz)
    visits = Visit.objects.filter(
        center=center, status=Visit.Status.BOOKED, end_at__gt=now, start_at__lt=end
    ).select_related("patient", "clinician", "visit_type", "room")
    if clinician is not None:
        visits = visits.filter(clinician=clinician)
    return [v for v in visits.order_by("start_at", "pk") if _in_closed_time(v, closed, tz)]


@dataclass(frozen=True)
class MoveOptions:
    """Where a visit could go: the same clinician's next free slot, another clinician's, and
    the one ``desk_rules.pick_move_target`` picks for "move all"."""

    same: Slot | None
    other: Slot | None
    best: Slot | None


def move_options(visit: Visit) -> MoveOptions:
    center = visit.center
    after = max(visit.start_at, timezone.now())
    slots = visit_slots(
        visit_type=visit.visit_type,
        center=center,
        first=timezone.localdate(after, center_zone(center)),
        days=SEARCH_DAYS,
        patient=visit.patient,
        not_before=after,
        ignore_visit=visit,
    )
    same = next((s for s in slots if s.clinician_id == visit.clinician_id), None)
    other = next((s for s in slots if s.clinician_id != visit.clinician_id), None)
    candidates = [
        desk_rules.Candidate(s.start, s.clinician_id) for s in (same, other) if s is not None
    ]
    pick = desk_rules.pick_move_target(candidates, same_clinician=visit.clinician_id)
    best = None
    if pick is not None:
        best = same if same is not None and pick.clinician_id == same.clinician_id else other
    return MoveOptions(same=same, other=other, best=best)


def closure_move(
    *, visit: Visit, by: User, start: dt.datetime | None = None, clinician: User | None = None
) -> Visit:
    """Move a visit out of closed time: to ``start`` with ``clinician`` when given (a slot the
    page offered), else to the slot ``move_options`` picks; tried again when someone takes
    the slot first. Raises ``VisitError`` when there is no free time, ``SlotTaken`` when the
    given slot was taken."""
    if start is not None:
        return visit_reschedule(
            visit=visit, start=start, by=by, clinician=clinician or visit.clinician
        )
    for _attempt in range(MOVE_ATTEMPTS):
        best = move_options(visit).best
        if best is None:
            raise VisitError(_("No free time in the next four weeks."))
        try:
            return visit_reschedule(
                visit=visit,
                start=best.start,
                by=by,
                clinician=User.objects.get(pk=best.clinician_id),
            )
        except SlotTaken:
            continue
    raise VisitError(_("That time is no longer free."))


def closure_cancel(*, visit: Visit, by: User, reason: str) -> Visit:
    return visit_cancel(visit=visit, by=by, reason=reason)


def closure_move_all(*, center: CareCenter, by: User) -> tuple[int, list[Visit]]:
    """Move every visit in closed time; (how many moved, those left with no free time)."""
    moved, left = 0, []
    for visit in visits_in_closed_time(center=center):
        try:
            closure_move(visit=visit, by=by)
        except VisitError:
            left.append(visit)
        else:
            moved += 1
    return moved, left


def closure_cancel_all(*, center: CareCenter, by: User, reason: str) -> int:
    visits = visits_in_closed_time(center=center)
    for visit in visits:
        closure_cancel(visit=visit, by=by, reason=reason)
    return len(visits)
