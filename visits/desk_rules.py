"""The front desk's rules, pure (issue #19): when a patient may still book, move or cancel a
visit themselves, and which free slot a visit of a closed day or a leave moves to.

No Django here: callers (``visits.services.selfbook``, ``visits.services.closures``) pass plain
values; these functions answer with booleans, instants and choices. Tested without a database.

Conventions
- **The change window.** A patient may book, move or cancel a visit only while its start is at
  least ``hours`` ahead (the center's rule, ``VISIT_PATIENT_CHANGE_HOURS``, default 24): at
  exactly ``hours`` ahead it is still allowed (``>=``), a second later it is not. Hours are
  real elapsed time (instants), so a DST change in between does not stretch the window.
- **Where a moved visit goes.** The first free slot with the same clinician found in the
  search (patients know their clinician: it wins even when another one is free sooner);
  without one, the earliest slot with another clinician who takes the visit type.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

DEFAULT_CHANGE_HOURS = 24


def change_deadline(start: dt.datetime, hours: int) -> dt.datetime:
    """The last instant a patient may change a visit starting at ``start``.

    >>> change_deadline(dt.datetime(2026, 3, 30, 9, tzinfo=dt.UTC), 24).isoformat()
    '2026-03-29T09:00:00+00:00'
    """
    return start - dt.timedelta(hours=hours)


def patient_may_change(start: dt.datetime, now: dt.datetime, hours: int) -> bool:
    """Whether a patient may still book, move or cancel a visit at ``start`` at ``now``.

    >>> at = dt.datetime(2026, 3, 30, 9, tzinfo=dt.UTC)
    >>> patient_may_change(at, at - dt.timedelta(hours=24), 24)
    True
    >>> patient_may_change(at, at - dt.timedelta(hours=23, minutes=59), 24)
    False
    """
    if hours < 0:
        raise ValueError("hours must not be negative")
    return now <= change_deadline(start, hours)


def earliest_patient_start(now: dt.datetime, hours: int) -> dt.datetime:
    """The first start a patient may book themselves (the slot search's ``not_before``)."""
    return now + dt.timedelta(hours=hours)


@dataclass(frozen=True)
class Candidate:
    """A free slot a visit could move to: its start and clinician (a plain id)."""

    start: dt.datetime
    clinician_id: int


def pick_move_target(
    candidates: Sequence[Candidate], *, same_clinician: int, other_allowed: bool = True
) -> Candidate | None:
    """The slot a visit of a closed day moves to (see the module's conventions).

    ``candidates`` in any order; ``other_allowed=False`` keeps the clinician or nothing.

    >>> t = lambda h: dt.datetime(2026, 1, 5, h, tzinfo=dt.UTC)
    >>> pick_move_target([Candidate(t(9), 2), Candidate(t(11), 1)], same_clinician=1)
    Candidate(start=datetime.datetime(2026, 1, 5, 11, 0, tzinfo=datetime.timezone.utc), \
clinician_id=1)
    >>> pick_move_target([Candidate(t(9), 2)], same_clinician=1).clinician_id
    2
    >>> pick_move_target([Candidate(t(9), 2)], same_clinician=1, other_allowed=False) is None
    True
    """
    own = sorted((c for c in candidates if c.clinician_id == same_clinician), key=_key)
    others = sorted((c for c in candidates if c.clinician_id != same_clinician), key=_key)
    if own:
        return own[0]
    if other_allowed and others:
        return others[0]
    return None


def _key(candidate: Candidate) -> tuple:
    return (candidate.start, candidate.clinician_id)


def closed_spans(
    day_start: dt.datetime,
    day_end: dt.datetime,
    *,
    blocked: Sequence[tuple[dt.datetime, dt.datetime]] = (),
    whole_day: bool = False,
) -> list[tuple[dt.datetime, dt.datetime]]:
    """The closed time of one local day [``day_start``, ``day_end``): the whole day when it
    is closed (a holiday, whole-day leave), else the blocked periods (leave between times).

    >>> d = dt.datetime(2026, 1, 5, tzinfo=dt.UTC)
    >>> closed_spans(d, d + dt.timedelta(days=1), whole_day=True) == [(d, d + dt.timedelta(days=1))]
    True
    """
    if whole_day:
        return [(day_start, day_end)]
    return sorted(
        (max(s, day_start), min(e, day_end)) for s, e in blocked if s < day_end and e > day_start
    )


def overlaps_any(
    start: dt.datetime, end: dt.datetime, spans: Sequence[tuple[dt.datetime, dt.datetime]]
) -> bool:
    """Whether [start, end) meets any of the half-open ``spans``.

    >>> t = lambda h: dt.datetime(2026, 1, 5, h, tzinfo=dt.UTC)
    >>> overlaps_any(t(9), t(10), [(t(10), t(12))])
    False
    >>> overlaps_any(t(9), t(11), [(t(10), t(12))])
    True
    """
    return any(start < e and s < end for s, e in spans)


def prompt_to_book(
    due: dt.date | None, today: dt.date, *, has_next_visit: bool, horizon_days: int
) -> bool:
    """Whether the patient's home page says "Book your follow-up": a follow-up is due within
    the worklist's horizon (or overdue) and nothing is booked.

    >>> d = dt.date(2026, 1, 5)
    >>> prompt_to_book(d, d, has_next_visit=False, horizon_days=14)
    True
    >>> prompt_to_book(d + dt.timedelta(days=15), d, has_next_visit=False, horizon_days=14)
    False
    >>> prompt_to_book(d - dt.timedelta(days=1), d, has_next_visit=True, horizon_days=14)
    False
    """
    if due is None or has_next_visit:
        return False
    return due <= today + dt.timedelta(days=horizon_days)
