"""Who receives a monitoring alert, and when it escalates (issue #20 §3), pure: no Django.

The monitoring app loads a center's opening hours, closed days, on-call rota and a patient's
care team, passes plain values, and sends to whom this module answers.

Conventions
- **Instants.** Aware datetimes in and out (naive ones are refused); user ids are the
  caller's, any hashable.
- **Service hours** are a center's opening hours: weekday (Monday = 0, as ``visits.Weekday``)
  -> list of (opens, closes) wall-clock times, as ``visits.OpeningHours`` rows hold them,
  periods half-open ``[opens, closes)`` (two rows for a lunch break), none on a closed day.
  They are converted with ``zoneinfo`` and ``fold=0``, as ``visits.scheduling`` does: a time
  in the spring-forward gap lands after it, a repeated one is its first occurrence.
- **Routing.** In service: the care team. Outside: whoever is on call on the rota (shifts
  ``(start, end, user)``, half-open instants). With nobody on call the alert waits for the
  next opening or the next shift, whichever comes first; an alert must reach someone, so a
  center that never opens and has no shift ahead sends it to its lead.
- **Escalation.** Unacknowledged, an alert goes on along ``ESCALATION_CHAIN``: care team ->
  the next person on the rota -> the center's lead, after per-severity delays counted from
  its first delivery (its opening, or the opening it waited for: a clinic without on-call
  does not wake its lead at night). Durations are real time: a DST change does not stretch
  or shrink them. An acknowledgement (or the alert's close) stops the chain.

The delays are product defaults (no consensus exists), named below.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from zoneinfo import ZoneInfo

Period = tuple[dt.time, dt.time]  # wall clock, [opens, closes)
Hours = Mapping[int, Sequence[Period]]  # weekday (Monday = 0, as visits.Weekday) -> periods
Shift = tuple[dt.datetime, dt.datetime, Hashable]  # [start, end) instants, user id

ESCALATION_CHAIN = ("care_team", "rota", "lead")
# Minutes after first delivery at which an unacknowledged alert goes to the next person on the
# rota, then to the center's lead. Product defaults (no consensus or guideline sets them): an
# urgent or predicted low within a quarter of an hour, a high or a silence within hours.
ESCALATION_MINUTES: dict[str, tuple[int, int]] = {
    "urgent_low": (15, 30),
    "predicted_low": (15, 30),
    "high": (60, 120),
    "no_data": (120, 240),
}
OPENING_SEARCH_DAYS = 31  # look this far ahead for the next opening (long holidays)


def _aware(moment: dt.datetime) -> dt.datetime:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("an aware datetime is required")
    return moment


def _instant(day: dt.date, time: dt.time, tz: ZoneInfo) -> dt.datetime:
    """The UTC instant of wall-clock ``time`` on ``day`` in ``tz`` (fold=0: gaps forward,
    repeats first). The same rule as ``visits.scheduling.to_instant``, not imported from it:
    ``visits`` and ``monitoring`` are on one floor (DESIGN §2)."""
    return dt.datetime.combine(day, time, tzinfo=tz).astimezone(dt.UTC)


def service_periods(
    day: dt.date, hours: Hours, tz: ZoneInfo, closed: Iterable[dt.date] = ()
) -> list[tuple[dt.datetime, dt.datetime]]:
    """The service periods of local ``day`` as UTC instants (none on a closed day).

    >>> london = ZoneInfo("Europe/London")
    >>> [(a.isoformat(), b.hour) for a, b in service_periods(dt.date(2026, 3, 30),
    ...     {0: [(dt.time(8), dt.time(18))]}, london)]
    [('2026-03-30T07:00:00+00:00', 17)]
    """
    if day in set(closed):
        return []
    periods = [
        (_instant(day, opens, tz), _instant(day, closes, tz))
        for opens, closes in hours.get(day.weekday(), ())
    ]
    return sorted((a, b) for a, b in periods if b > a)


def in_service(
    now: dt.datetime, hours: Hours, tz: ZoneInfo, closed: Iterable[dt.date] = ()
) -> bool:
    """Is ``now`` inside the center's service hours?"""
    now = _aware(now)
    day = now.astimezone(tz).date()
    return any(a <= now < b for a, b in service_periods(day, hours, tz, closed))


def next_opening(
    now: dt.datetime, hours: Hours, tz: ZoneInfo, closed: Iterable[dt.date] = ()
) -> dt.datetime | None:
    """The first service period start after ``now`` (within ``OPENING_SEARCH_DAYS``)."""
    now = _aware(now)
    closed = set(closed)
    day = now.astimezone(tz).date()
    for offset in range(OPENING_SEARCH_DAYS + 1):
        for start, _ in service_periods(day + dt.timedelta(days=offset), hours, tz, closed):
            if start > now:
                return start
    return None


def coverage(
    start: dt.datetime,
    end: dt.datetime,
    hours: Hours,
    tz: ZoneInfo,
    closed: Iterable[dt.date] = (),
    rota: Iterable[Shift] = (),
) -> str:
    """How [start, end) outside service hours is covered by the rota: ``"always"`` (every
    moment is in service or on call), ``"sometimes"`` or ``"never"`` (no shift at all outside
    service hours). What the patient's page promises.

    >>> london = ZoneInfo("Europe/London")
    >>> monday = dt.datetime(2026, 1, 5, tzinfo=dt.UTC)
    >>> nights = [(monday + dt.timedelta(hours=18), monday + dt.timedelta(days=1, hours=8), 1)]
    >>> hours = {0: [(dt.time(8), dt.time(18))], 1: [(dt.time(8), dt.time(18))]}
    >>> coverage(monday + dt.timedelta(hours=8), monday + dt.timedelta(days=1, hours=18),
    ...          hours, london, rota=nights)
    'always'
    >>> coverage(monday, monday + dt.timedelta(days=2), hours, london, rota=nights)
    'sometimes'
    >>> coverage(monday, monday + dt.timedelta(days=2), hours, london)
    'never'
    """
    start, end = _aware(start), _aware(end)
    closed = set(closed)
    covered: list[tuple[dt.datetime, dt.datetime]] = []
    day = start.astimezone(tz).date() - dt.timedelta(days=1)
    while _instant(day, dt.time(0), tz) < end:
        covered += service_periods(day, hours, tz, closed)
        day += dt.timedelta(days=1)
    shifts = [(a, b) for a, b, _who in rota if b > start and a < end]
    gaps, cursor = False, start
    for a, b in sorted(covered + shifts):
        if a > cursor:
            gaps = True
        cursor = max(cursor, b)
        if cursor >= end:
            break
    gaps = gaps or cursor < end
    if not gaps:
        return "always"
    return "sometimes" if shifts else "never"


def on_call_at(now: dt.datetime, rota: Iterable[Shift]) -> list[Hashable]:
    """Who is on call at ``now`` (shifts are half-open), by shift start, each once."""
    now = _aware(now)
    people = []
    for start, end, user in sorted(rota, key=lambda s: (s[0], s[1])):
        if start <= now < end and user not in people:
            people.append(user)
    return people


@dataclass(frozen=True)
class Routing:
    """Who gets an alert now (``recipients``) and why (``service_hours``, ``on_call``,
    ``lead``), or nobody yet: ``wait`` until ``wait_until``."""

    recipients: tuple
    reason: str
    wait_until: dt.datetime | None = None


def recipients_at(
    now: dt.datetime,
    *,
    hours: Hours,
    tz: ZoneInfo,
    rota: Sequence[Shift] = (),
    care_team: Sequence[Hashable] = (),
    lead: Hashable = None,
    closed: Iterable[dt.date] = (),
) -> Routing:
    """Route an alert at ``now``: in service hours to the care team; outside them to whoever
    is on call; with nobody on call, wait for the next opening or the next shift, whichever
    comes first. A center that never opens and has no shift ahead sends to its ``lead`` (an
    alert must reach someone); so does service time with an empty care team and nobody on
    call.

    >>> london = ZoneInfo("Europe/London")
    >>> hours = {d: [(dt.time(8), dt.time(18))] for d in range(5)}
    >>> friday_night = dt.datetime(2026, 3, 27, 19, tzinfo=dt.UTC)
    >>> r = recipients_at(friday_night, hours=hours, tz=london, care_team=[7])
    >>> r.reason, r.wait_until.isoformat()  # Monday 08:00 BST, after the DST change
    ('wait', '2026-03-30T07:00:00+00:00')
    """
    now = _aware(now)
    closed = set(closed)
    team = tuple(dict.fromkeys(care_team))
    serving = in_service(now, hours, tz, closed)
    if serving and team:
        return Routing(team, "service_hours")
    on_call = on_call_at(now, rota)
    if on_call:
        return Routing(tuple(on_call), "on_call")
    if not serving:
        upcoming = [start for start, _, _ in rota if start > now]
        opening = next_opening(now, hours, tz, closed)
        if opening is not None:
            upcoming.append(opening)
        if upcoming:
            return Routing((), "wait", min(upcoming))
    return Routing(() if lead is None else (lead,), "lead")


@dataclass(frozen=True)
class Escalation:
    """The step of ``ESCALATION_CHAIN`` due (0: care team / first recipients, 1: the next
    person on the rota, 2: the center's lead) and when the next one falls due (None: never,
    because it was acknowledged or closed, or the chain is at its end)."""

    step: int
    next_at: dt.datetime | None

    @property
    def target(self) -> str:
        return ESCALATION_CHAIN[self.step]


def escalation_step(
    delivered_at: dt.datetime,
    *,
    now: dt.datetime,
    delays: Sequence[float],
    acknowledged_at: dt.datetime | None = None,
    closed_at: dt.datetime | None = None,
) -> Escalation:
    """Which step of the chain is due at ``now`` for an alert first delivered at
    ``delivered_at`` (its opening, or the opening it waited for), with the kind's cumulative
    ``delays`` in minutes (``ESCALATION_MINUTES[kind]``). A step falls due at
    ``delivered_at + delay``; an acknowledgement or close at or before that instant stops the
    chain (the acknowledgement wins a tie).

    >>> t0 = dt.datetime(2026, 3, 29, 0, 50, tzinfo=dt.UTC)  # the night London moves to BST
    >>> e = escalation_step(t0, now=t0 + dt.timedelta(minutes=16), delays=(15, 30))
    >>> e.target, e.next_at.isoformat()
    ('rota', '2026-03-29T01:20:00+00:00')
    """
    delivered_at, now = _aware(delivered_at), _aware(now)
    stopped = [x for x in (acknowledged_at, closed_at) if x is not None]
    stop = min(_aware(x) for x in stopped) if stopped else None
    step = 0
    next_at = None
    for n, minutes in enumerate(delays, start=1):
        due = delivered_at + dt.timedelta(minutes=minutes)
        if stop is not None and stop <= due:
            return Escalation(step, None)
        if due <= now:
            step = n
            continue
        next_at = due
        break
    return Escalation(min(step, len(ESCALATION_CHAIN) - 1), next_at)


def escalation_recipients(
    step: int,
    *,
    now: dt.datetime,
    rota: Sequence[Shift] = (),
    lead: Hashable = None,
    notified: Iterable[Hashable] = (),
) -> tuple:
    """Who receives escalation ``step`` (1 or 2) at ``now``. Step 1, the next person on the
    rota: whoever is on call now and was not yet notified, else the person of the next shift
    to start; with nobody left on the rota, the lead. Step 2: the lead. Never someone already
    notified.

    >>> t = dt.datetime(2026, 1, 5, 20, tzinfo=dt.UTC)
    >>> rota = [(t - dt.timedelta(hours=2), t + dt.timedelta(hours=10), "ana"),
    ...         (t + dt.timedelta(hours=10), t + dt.timedelta(hours=22), "ben")]
    >>> escalation_recipients(1, now=t, rota=rota, lead="lee", notified=["ana"])
    ('ben',)
    """
    if step < 1:
        raise ValueError("step 0 goes to recipients_at's recipients")
    now = _aware(now)
    notified = set(notified)
    if step == 1:
        fresh = [user for user in on_call_at(now, rota) if user not in notified]
        if not fresh:
            upcoming = sorted((s for s in rota if s[0] > now), key=lambda s: (s[0], s[1]))
            fresh = [user for _, _, user in upcoming if user not in notified][:1]
        if fresh:
            return tuple(fresh)
    if step >= 1 and lead is not None and lead not in notified:
        return (lead,)
    return ()
