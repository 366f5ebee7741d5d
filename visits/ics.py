"""iCalendar (RFC 5545) for visit feeds: instants in UTC, text escaped, lines folded."""

import datetime as dt

from django.conf import settings
from django.utils import timezone


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


def calendar(visits, *, for_patient: bool, name: str) -> str:
    """One VEVENT per visit; cancelled visits stay in the feed as STATUS:CANCELLED so
    subscribed calendars remove them."""
    host = settings.SITE_URL.split("//")[-1].split("/")[0] or "localhost"
    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        "PRODID:-//Diabetes Center//Visits//EN",
        "CALSCALE:GREGORIAN",
        f"X-WR-CALNAME:{_escape(name)}",
    ]
    now = _stamp(timezone.now())
    for visit in visits:
        if for_patient:
            summary = f"{visit.visit_type.label} — {visit.clinician}"
        else:
            summary = f"{visit.patient.name} — {visit.visit_type.label}"
        location = ", ".join(
            part for part in (str(visit.center), visit.room.name if visit.room else "") if part
        )
        status = "CANCELLED" if visit.status == "cancelled" else "CONFIRMED"
        lines += [
            "BEGIN:VEVENT",
            f"UID:visit-{visit.pk}@{host}",
            f"DTSTAMP:{now}",
            f"DTSTART:{_stamp(visit.start_at)}",
            f"DTEND:{_stamp(visit.end_at)}",
            f"SUMMARY:{_escape(summary)}",
            f"LOCATION:{_escape(location)}",
            f"STATUS:{status}",
            "END:VEVENT",
        ]
    lines.append("END:VCALENDAR")
    return "\r\n".join(_fold(line) for line in lines) + "\r\n"
