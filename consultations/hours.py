"""Business hours: when an answer is due, counted in the center's opening hours (pure, no
Django).

A consultation asked at 16:00 on a Friday with a service level of 8 business hours, at a center
open Monday–Friday 09:00–17:00, is due at 16:00 on Monday: one hour on Friday, seven on Monday.
Opening periods are wall-clock times in the center's zone (as ``visits.OpeningHours`` stores
them); each period counts the real time between its opening and closing instants, so on the
day the clocks change a period is as long as it really is (09:00–17:00 is 8 hours on either
side of a DST change; a period that spans the change at 01:00–03:00 is one hour or three).
A wall-clock time that does not exist (skipped by a spring-forward) is taken as the instant the
clocks jump to; a repeated one (fall-back) as its first occurrence.

>>> import datetime as dt
>>> week = {d: [(dt.time(9), dt.time(17))] for d in range(5)}
>>> friday = dt.datetime(2026, 1, 9, 16, tzinfo=dt.UTC)
>>> business_deadline(friday, 8 * 3600, week, "UTC")
datetime.datetime(2026, 1, 12, 16, 0, tzinfo=datetime.timezone.utc)
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from collections.abc import Iterable, Mapping

# A center with no opening hours on record: Monday to Friday, 09:00–17:00.
DEFAULT_WEEK: dict[int, list[tuple[dt.time, dt.time]]] = {
    day: [(dt.time(9), dt.time(17))] for day in range(5)
}
MAX_DAYS = 400  # a center closed for longer than this never answers: give up, say None


def _instant(day: dt.date, wall: dt.time, zone: zoneinfo.ZoneInfo) -> dt.datetime:
    """The UTC instant of ``wall`` on ``day`` in ``zone`` (gap → after the jump; repeat →
    first occurrence)."""
    local = dt.datetime.combine(day, wall, zone)  # fold=0
    utc = local.astimezone(dt.UTC)
    if utc.astimezone(zone).replace(tzinfo=None) != local.replace(tzinfo=None):
        # A skipped time: fold=0 maps it before the jump; the clinic opens at the jump.
        utc = local.replace(fold=1).astimezone(dt.UTC)
    return utc


def opening_spans(
    day: dt.date,
    week: Mapping[int, Iterable[tuple[dt.time, dt.time]]],
    zone: zoneinfo.ZoneInfo,
) -> list[tuple[dt.datetime, dt.datetime]]:
    """The opening periods of ``day`` as UTC (start, end) instants, in order."""
    spans = []
    for opens, closes in sorted(week.get(day.weekday(), ())):
        start, end = _instant(day, opens, zone), _instant(day, closes, zone)
        if end > start:
            spans.append((start, end))
    return spans


def business_deadline(
    start: dt.datetime,
    seconds: float,
    week: Mapping[int, Iterable[tuple[dt.time, dt.time]]] | None,
    tz: str,
    closed: Iterable[dt.date] = (),
) -> dt.datetime | None:
    """The instant ``seconds`` of opening time after ``start`` (aware); None when the center
    is never open within ``MAX_DAYS``. ``week``: weekday (Monday 0) → [(opens, closes)];
    ``closed``: local dates the center is shut (holidays). An empty week is the default week.
    """
    if start.tzinfo is None:
        raise ValueError("start must be an aware datetime")
    week = week if week and any(week.values()) else DEFAULT_WEEK
    zone = zoneinfo.ZoneInfo(tz)
    closed = set(closed)
    remaining = dt.timedelta(seconds=max(0.0, seconds))
    start = start.astimezone(dt.UTC)
    day = start.astimezone(zone).date() - dt.timedelta(days=1)  # a period may span midnight UTC
    for _ in range(MAX_DAYS):
        if day not in closed:
            for span_start, span_end in opening_spans(day, week, zone):
                if span_end <= start:
                    continue
                begin = max(span_start, start)
                available = span_end - begin
                if remaining <= available:
                    return begin + remaining
                remaining -= available
        day += dt.timedelta(days=1)
    return None


def business_seconds_between(
    start: dt.datetime,
    end: dt.datetime,
    week: Mapping[int, Iterable[tuple[dt.time, dt.time]]] | None,
    tz: str,
    closed: Iterable[dt.date] = (),
) -> float:
    """Opening time between two instants, in seconds (time to first answer, in business
    hours). Zero when ``end`` is not after ``start``."""
    if end <= start:
        return 0.0
    week = week if week and any(week.values()) else DEFAULT_WEEK
    zone = zoneinfo.ZoneInfo(tz)
    closed = set(closed)
    total = dt.timedelta()
    day = start.astimezone(zone).date() - dt.timedelta(days=1)
    last = end.astimezone(zone).date()
    while day <= last:
        if day not in closed:
            for span_start, span_end in opening_spans(day, week, zone):
                lo, hi = max(span_start, start), min(span_end, end)
                if hi > lo:
                    total += hi - lo
        day += dt.timedelta(days=1)
    return total.total_seconds()
