"""iCalendar (RFC 5545) for visit feeds: local times with their zone (``TZID`` and a
``VTIMEZONE`` that lists the zone's offset changes over the feed's span), text escaped,
lines folded.

Status (issue #19 §6), so calendar apps show what is true:

- ``CANCELLED``: a cancelled visit (kept in the feed so subscribed calendars remove it) and a
  no-show;
- ``TENTATIVE``: a visit still booked on a day its center has closed (it must be moved);
- ``CONFIRMED``: an open visit that has not ended, on an open day — and nothing else: a past
  visit carries no status (completed visits say so in their description).
"""

from __future__ import annotations

import datetime as dt
import zoneinfo

from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext as _


def _escape(text: str) -> str:
    return (
        str(text).replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,").replace("\n", "\\n")
    )


def _fold(line: str) -> str:
    """Lines longer than 75 octets continue on the next line after a space (RFC 5545 3.1)."""
    out, current = [], b""
    for char in line:
        encoded = char.encode()
        if len(current) + len(encoded) > 75:
            out.append(current.decode())
            current = b" "
        current += encoded
    out.append(current.decode())
    return "\r\n".join(out)


def _stamp(instant: dt.datetime) -> str:
    return instant.astimezone(dt.UTC).strftime("%Y%m%dT%H%M%SZ")


def _local(instant: dt.datetime, zone: zoneinfo.ZoneInfo) -> str:
    return instant.astimezone(zone).strftime("%Y%m%dT%H%M%S")


def _offset(delta: dt.timedelta) -> str:
    minutes = int(delta.total_seconds() // 60)
    sign = "-" if minutes < 0 else "+"
    hours, mins = divmod(abs(minutes), 60)
    return f"{sign}{hours:02d}{mins:02d}"


def zone_transitions(zone: zoneinfo.ZoneInfo, first: dt.datetime, last: dt.datetime):
    """``[(UTC instant, offset before, offset after, is DST after)]`` of the zone's changes
    between ``first`` and ``last`` (found day by day, then to the minute by bisection).

    >>> len(zone_transitions(zoneinfo.ZoneInfo("Europe/London"),
    ...     dt.datetime(2026, 1, 1, tzinfo=dt.UTC), dt.datetime(2027, 1, 1, tzinfo=dt.UTC)))
    2
    """
    out = []
    step = dt.timedelta(days=1)
    here = first
    before = here.astimezone(zone).utcoffset()
    while here < last:
        nxt = min(here + step, last)
        after = nxt.astimezone(zone).utcoffset()
        if after != before:
            low, high = here, nxt
            while high - low > dt.timedelta(minutes=1):
                mid = low + (high - low) / 2
                if mid.astimezone(zone).utcoffset() == before:
                    low = mid
                else:
                    high = mid
            change = high.replace(second=0, microsecond=0)
            dst = bool(change.astimezone(zone).dst())
            out.append((change, before, after, dst))
            before = after
        here = nxt
    return out


def vtimezone(name: str, first: dt.datetime, last: dt.datetime) -> list[str]:
    """The ``VTIMEZONE`` lines for zone ``name`` over [first, last]: one observance per
    offset change (explicit dates, no RRULE), or one fixed observance when there is none."""
    zone = zoneinfo.ZoneInfo(name)
    lines = ["BEGIN:VTIMEZONE", f"TZID:{name}"]
    changes = zone_transitions(zone, first - dt.timedelta(days=366), last + dt.timedelta(days=1))
    if not changes:
        offset = first.astimezone(zone).utcoffset()
        kind = "DAYLIGHT" if first.astimezone(zone).dst() else "STANDARD"
        lines += [
            f"BEGIN:{kind}",
            "DTSTART:19700101T000000",
            f"TZOFFSETFROM:{_offset(offset)}",
            f"TZOFFSETTO:{_offset(offset)}",
            f"TZNAME:{first.astimezone(zone).tzname()}",
            f"END:{kind}",
        ]
    for instant, before, after, dst in changes:
        kind = "DAYLIGHT" if dst else "STANDARD"
        wall = (instant + before).replace(tzinfo=None)  # local time in the old offset
        lines += [
            f"BEGIN:{kind}",
            f"DTSTART:{wall:%Y%m%dT%H%M%S}",
            f"TZOFFSETFROM:{_offset(before)}",
            f"TZOFFSETTO:{_offset(after)}",
            f"TZNAME:{instant.astimezone(zone).tzname()}",
            f"END:{kind}",
        ]
    lines.append("END:VTIMEZONE")
    return lines


def visit_status(visit, *, closed: bool, now: dt.datetime) -> str:
    """The event's STATUS ("" for none): see the module docstring."""
    if visit.status in ("cancelled", "no_show"):
        return "CANCELLED"
    if visit.status in ("booked", "checked_in") and visit.end_at > now:
        return "TENTATIVE" if closed else "CONFIRMED"
    return ""


def calendar(
    visits,
    *,
    for_patient: bool,
    name: str,
    tz: str = "UTC",
    closed_days: frozenset | set = frozenset(),
) -> str:
    """One VEVENT per visit, times in ``tz`` with its VTIMEZONE; ``closed_days`` holds
    ``(center id, local date)`` pairs of closed days (their visits are never CONFIRMED)."""
    visits = list(visits)
    zone = zoneinfo.ZoneInfo(tz)
    host = settings.SITE_URL.split("//")[-1].split("/")[0] or "localhost"
    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        "PRODID:-//Diabetes Center//Visits//EN",
        "CALSCALE:GREGORIAN",
        f"X-WR-CALNAME:{_escape(name)}",
        f"X-WR-TIMEZONE:{tz}",
    ]
    now = timezone.now()
    if visits:
        first = min(v.start_at for v in visits)
        last = max(v.end_at for v in visits)
        lines += vtimezone(tz, first, last)
    words = {
        "completed": _("Completed"),
        "no_show": _("No-show"),
        "checked_in": _("Checked in"),
        "cancelled": _("Cancelled"),
        "booked": _("Booked"),
    }
    for visit in visits:
        if for_patient:
            summary = f"{visit.visit_type.label} — {visit.clinician}"
        else:
            summary = f"{visit.patient.name} — {visit.visit_type.label}"
        location = ", ".join(
            part for part in (str(visit.center), visit.room.name if visit.room else "") if part
        )
        center_zone = zoneinfo.ZoneInfo(visit.center.timezone)
        closed = (visit.center_id, visit.start_at.astimezone(center_zone).date()) in closed_days
        status = visit_status(visit, closed=closed, now=now)
        description = str(words.get(visit.status, visit.status))
        if closed and visit.status == "booked":
            description = _("The care center is closed that day: this visit will be moved.")
        lines += [
            "BEGIN:VEVENT",
            f"UID:visit-{visit.pk}@{host}",
            f"DTSTAMP:{_stamp(now)}",
            f"DTSTART;TZID={tz}:{_local(visit.start_at, zone)}",
            f"DTEND;TZID={tz}:{_local(visit.end_at, zone)}",
            f"SUMMARY:{_escape(summary)}",
            f"LOCATION:{_escape(location)}",
            f"DESCRIPTION:{_escape(description)}",
        ]
        if status:
            lines.append(f"STATUS:{status}")
        lines.append("END:VEVENT")
    lines.append("END:VCALENDAR")
    return "\r\n".join(_fold(line) for line in lines) + "\r\n"
