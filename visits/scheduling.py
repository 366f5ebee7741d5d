"""The appointment book's rules, pure: when can a visit of a given length start?

No Django here: the callers (``visits.services``) load hours, sessions and visits and pass
plain values; this module answers with instants. It is tested without a database.

Conventions
- **Wall clock → instant.** Opening hours and sessions are local times in the center's zone.
  ``to_instant`` converts with ``zoneinfo`` and ``fold=0``: a time that does not exist (the
  spring-forward gap) lands after the gap (01:30 on 29 March 2026 in London is 02:30 BST), a
  time that happens twice (autumn) is its first occurrence. A period therefore covers the real
  time between its ends: 00:00–04:00 is 3 hours on the spring-forward day and 5 in autumn.
- **Periods are half-open** ``[start, end)``: a visit ending at 10:00 and one starting at
  10:00 do not overlap (the database constraints use the same ``'[)'`` ranges).
- **Bookable** = each session ∩ opening hours − blocked periods (leave, training); a closed
  day (holiday, whole-day leave) has none. Extra sessions are sessions.
- **Slots** step through real time every ``step`` from the start of each bookable window (the
  grid does not move when a visit of another length is booked), and a slot must fit entirely
  in a window and overlap nothing busy (the clinician's, the patient's or the room's visits).
"""

from __future__ import annotations

import bisect
import datetime as dt
from collections.abc import Hashable, Iterable, Sequence
from dataclasses import dataclass
from zoneinfo import ZoneInfo

import numpy as np

Period = tuple[dt.time, dt.time]  # wall clock, [start, end)
Interval = tuple[dt.datetime, dt.datetime]  # aware instants, [start, end)


@dataclass(frozen=True)
class Window:
    """A bookable stretch of one session; ``tag`` is the caller's (e.g. the room id)."""

    start: dt.datetime
    end: dt.datetime
    tag: Hashable = None


def to_instant(day: dt.date, time: dt.time, tz: ZoneInfo) -> dt.datetime:
    """The UTC instant of wall-clock ``time`` on ``day`` in ``tz`` (gaps forward, repeats first).

    >>> london = ZoneInfo("Europe/London")
    >>> to_instant(dt.date(2026, 1, 5), dt.time(9), london).isoformat()
    '2026-01-05T09:00:00+00:00'
    >>> to_instant(dt.date(2026, 7, 6), dt.time(9), london).isoformat()
    '2026-07-06T08:00:00+00:00'
    >>> to_instant(dt.date(2026, 3, 29), dt.time(1, 30), london).isoformat()  # in the gap
    '2026-03-29T01:30:00+00:00'
    """
    return dt.datetime.combine(day, time, tzinfo=tz).astimezone(dt.UTC)


def merge(intervals: Iterable[Interval]) -> list[Interval]:
    """Sorted, overlapping or touching intervals joined."""
    out: list[list[dt.datetime]] = []
    for start, end in sorted(intervals):
        if end <= start:
            continue
        if out and start <= out[-1][1]:
            out[-1][1] = max(out[-1][1], end)
        else:
            out.append([start, end])
    return [(a, b) for a, b in out]


def subtract(interval: Interval, holes: Sequence[Interval]) -> list[Interval]:
    """``interval`` minus merged, sorted ``holes``."""
    start, end = interval
    pieces = []
    for hole_start, hole_end in holes:
        if hole_end <= start:
            continue
        if hole_start >= end:
            break
        if hole_start > start:
            pieces.append((start, hole_start))
        start = max(start, hole_end)
    if start < end:
        pieces.append((start, end))
    return pieces


def bookable_windows(
    day: dt.date,
    tz: ZoneInfo,
    *,
    opening: Sequence[Period],
    sessions: Sequence[tuple[dt.time, dt.time, Hashable]],
    blocked: Sequence[Period] = (),
    closed: bool = False,
) -> list[Window]:
    """The windows of ``day`` in which a clinician can see patients.

    >>> london = ZoneInfo("Europe/London")
    >>> t = dt.time
    >>> [(w.start.hour, w.end.hour, w.tag) for w in bookable_windows(
    ...     dt.date(2026, 1, 5), london, opening=[(t(8), t(17))],
    ...     sessions=[(t(7), t(12), "room 1"), (t(13), t(18), None)], blocked=[(t(10), t(11))])]
    [(8, 10, 'room 1'), (11, 12, 'room 1'), (13, 17, None)]
    """
    if closed:
        return []
    open_ = merge((to_instant(day, a, tz), to_instant(day, b, tz)) for a, b in opening if b > a)
    holes = merge((to_instant(day, a, tz), to_instant(day, b, tz)) for a, b in blocked if b > a)
    windows = []
    for a, b, tag in sessions:
        session = (to_instant(day, a, tz), to_instant(day, b, tz))
        for open_start, open_end in open_:
            start, end = max(session[0], open_start), min(session[1], open_end)
            if start < end:
                windows.extend(Window(s, e, tag) for s, e in subtract((start, end), holes))
    return sorted(windows, key=lambda w: (w.start, w.end))


class Busy:
    """Merged busy intervals with a fast "what overlaps [a, b)?" lookup."""

    def __init__(self, intervals: Iterable[Interval] = ()):
        self.intervals = merge(intervals)
        self.starts = [start for start, _ in self.intervals]

    def within(self, start: dt.datetime, end: dt.datetime) -> list[Interval]:
        i = max(bisect.bisect_right(self.starts, start) - 1, 0)
        j = bisect.bisect_left(self.starts, end)
        return self.intervals[i:j]

    def __or__(self, other: Busy) -> Busy:
        return Busy(self.intervals + other.intervals)


def free_slots(
    windows: Sequence[Window],
    busy: Busy,
    *,
    duration: dt.timedelta,
    step: dt.timedelta | None = None,
    not_before: dt.datetime | None = None,
    busy_by_tag: dict[Hashable, Busy] | None = None,
) -> list[tuple[dt.datetime, Hashable]]:
    """Start instants (with the window's tag) where a visit of ``duration`` fits.

    ``busy`` applies to every window, ``busy_by_tag[tag]`` (a room's visits) to that tag's.

    >>> utc = dt.UTC
    >>> day = dt.datetime(2026, 1, 5, tzinfo=utc)
    >>> h = lambda x: day + dt.timedelta(hours=x)
    >>> slots = free_slots([Window(h(9), h(12))], Busy([(h(10), h(10.5))]),
    ...                    duration=dt.timedelta(minutes=30))
    >>> [s.strftime("%H:%M") for s, _ in slots]
    ['09:00', '09:30', '10:30', '11:00', '11:30']
    """
    step = step or duration
    busy_by_tag = busy_by_tag or {}
    slots = []
    for window in windows:
        holes = busy.within(window.start, window.end)
        extra = busy_by_tag.get(window.tag)
        if extra is not None:
            holes = merge(holes + extra.within(window.start, window.end))
        for free_start, free_end in subtract((window.start, window.end), holes):
            lower = max(free_start, not_before) if not_before else free_start
            # First grid point at or after ``lower`` (the grid starts at the window's start).
            k = -((window.start - lower) // step)
            start = window.start + k * step
            while start + duration <= free_end:
                slots.append((start, window.tag))
                start += step
    slots.sort(key=lambda slot: slot[0])
    return slots


# --- The same rule, vectorized (numpy), for searches over many clinicians and days ---------
#
# Instants are float seconds since the epoch. ``free_slots`` above is the readable
# reference; tests check that both give the same slots.


def merge_arrays(starts: np.ndarray, ends: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Busy intervals sorted and merged, so that starts and ends both increase."""
    if len(starts) == 0:
        return starts, ends
    order = np.argsort(starts, kind="stable")
    starts, ends = starts[order], ends[order]
    run_end = np.maximum.accumulate(ends)
    first = np.empty(len(starts), dtype=bool)
    first[0] = True
    first[1:] = starts[1:] > run_end[:-1]
    heads = np.flatnonzero(first)
    last = np.append(heads[1:] - 1, len(starts) - 1)
    return starts[heads], run_end[last]


def grid_starts(
    window_starts: np.ndarray,
    window_ends: np.ndarray,
    *,
    duration: float,
    step: float,
    not_before: float,
) -> tuple[np.ndarray, np.ndarray]:
    """Every grid start (every ``step`` from its window's start) at or after ``not_before``
    where ``duration`` fits in the window, with the index of its window."""
    counts = np.maximum((window_ends - window_starts - duration) // step + 1, 0).astype(np.int64)
    index = np.repeat(np.arange(len(window_starts)), counts)
    offsets = np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)
    starts = window_starts[index] + offsets * step
    keep = starts >= not_before
    return starts[keep], index[keep]


def free_mask(
    starts: np.ndarray, duration: float, busy_starts: np.ndarray, busy_ends: np.ndarray
) -> np.ndarray:
    """True where ``[start, start + duration)`` overlaps none of the merged busy intervals:
    the first busy interval ending after the start must begin at or after the slot's end."""
    if len(busy_starts) == 0:
        return np.ones(len(starts), dtype=bool)
    i = np.searchsorted(busy_ends, starts, side="right")
    following = np.where(
        i < len(busy_starts), busy_starts[np.minimum(i, len(busy_starts) - 1)], np.inf
    )
    return following >= starts + duration
