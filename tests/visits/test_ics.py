"""Calendar feeds that calendar apps read right (issue #19 §6): every event of the patient's
and the clinician's feed, parsed with the ``icalendar`` library, checked against the
database — cancelled is CANCELLED, past or closed-day visits are never CONFIRMED, times carry
their zone with a VTIMEZONE."""

import datetime as dt
import zoneinfo

import icalendar
import pytest
from django.urls import reverse
from django.utils import timezone

from tests.visits.conftest import at
from visits import services
from visits.models import ClosedDay, Visit


@pytest.fixture
def visits(clinic, patient, alice, follow_up, monday, staff):
    """Booked, cancelled, on a day closed after booking, completed, no-show, and one in
    summer time / winter time across a DST change."""
    book = lambda day, hour: services.visit_book(  # noqa: E731
        patient=patient, clinician=alice, visit_type=follow_up, start=at(day, hour), by=staff
    )
    booked = book(monday, 10)
    cancelled = services.visit_cancel(visit=book(monday, 11), by=staff, reason="ill")
    closed_day = monday + dt.timedelta(days=1)
    on_closed = book(closed_day, 10)
    ClosedDay.objects.create(center=clinic, date=closed_day, reason="Strike")
    now = timezone.now()
    past = []
    for days, status in ((3, "completed"), (5, "no_show"), (7, "booked")):
        start = (now - dt.timedelta(days=days)).replace(microsecond=0)
        past.append(
            Visit.objects.create(
                patient=patient,
                clinician=alice,
                visit_type=follow_up,
                center=clinic,
                start_at=start,
                end_at=start + dt.timedelta(minutes=30),
                status=status,
            )
        )
    return {"booked": booked, "cancelled": cancelled, "closed": on_closed, "past": past}


EXPECTED = {"booked": "CONFIRMED", "cancelled": "CANCELLED", "closed": "TENTATIVE"}


def _events(body: bytes):
    cal = icalendar.Calendar.from_ical(body)
    zones = {str(c["TZID"]) for c in cal.walk("VTIMEZONE")}
    return cal, zones, {str(e["UID"]).split("@")[0]: e for e in cal.walk("VEVENT")}


def _check_feed(body: bytes, zone_name: str) -> None:
    cal, zones, events = _events(body)
    assert zones == {zone_name}
    db = {f"visit-{v.pk}": v for v in Visit.objects.all()}
    assert set(events) == set(db)
    now = timezone.now()
    for uid, event in events.items():
        visit = db[uid]
        start, end = event.decoded("DTSTART"), event.decoded("DTEND")
        assert start.tzinfo is not None and str(event["DTSTART"].params["TZID"]) == zone_name
        assert start == visit.start_at and end == visit.end_at  # same instants
        status = str(event.get("STATUS", ""))
        closed = ClosedDay.objects.filter(
            center=visit.center,
            date=visit.start_at.astimezone(zoneinfo.ZoneInfo(visit.center.timezone)).date(),
        ).exists()
        if visit.status in ("cancelled", "no_show"):
            assert status == "CANCELLED", uid
        elif visit.end_at <= now or closed:
            assert status != "CONFIRMED", uid
        else:
            assert status == "CONFIRMED", uid


def test_the_patients_feed_matches_the_database(client, patient_user, patient, visits):
    patient.timezone = "America/New_York"
    patient.save()
    client.force_login(patient_user)
    body = client.get(reverse("visits-my-calendar")).content
    _check_feed(body, "America/New_York")
    _cal, _zones, events = _events(body)
    for key, status in EXPECTED.items():
        assert str(events[f"visit-{visits[key].pk}"]["STATUS"]) == status


def test_the_clinicians_feed_matches_the_database(client, alice, visits):
    client.force_login(alice)
    page = client.post(reverse("visits-feed-settings"), {"issue": "1"}).content.decode()
    address = page.split('id="feed-address" readonly size="80" value="')[1].split('"')[0]
    body = client.get(address).content
    _check_feed(body, "Europe/London")


def test_the_zone_carries_its_summer_and_winter_offsets(client, patient_user, visits):
    client.force_login(patient_user)
    cal = icalendar.Calendar.from_ical(client.get(reverse("visits-my-calendar")).content)
    (vtz,) = cal.walk("VTIMEZONE")
    offsets = {(sub.name, sub.decoded("TZOFFSETTO")) for sub in vtz.subcomponents}
    # The patient's zone is UTC (tests/conftest.py): one fixed observance.
    assert offsets == {("STANDARD", dt.timedelta(0))}


def test_london_changes_offset_twice_a_year():
    from visits.ics import vtimezone

    lines = vtimezone(
        "Europe/London",
        dt.datetime(2026, 6, 1, tzinfo=dt.UTC),
        dt.datetime(2027, 6, 1, tzinfo=dt.UTC),
    )
    text = "\r\n".join(["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:x", *lines, "END:VCALENDAR"])
    vtz = icalendar.Calendar.from_ical(text).walk("VTIMEZONE")[0]
    starts = {(sub.name, sub.decoded("DTSTART").replace(tzinfo=None)) for sub in vtz.subcomponents}
    # EU rules: last Sunday of March 01:00 UTC, last Sunday of October 01:00 UTC.
    assert ("STANDARD", dt.datetime(2026, 10, 25, 2, 0)) in starts
    assert ("DAYLIGHT", dt.datetime(2027, 3, 28, 1, 0)) in starts
    tz = vtz.to_tz()
    summer = dt.datetime(2027, 5, 1, 12, tzinfo=tz)
    assert summer.utcoffset() == dt.timedelta(hours=1)
