"""Visit personas on top of tests/conftest.py: the North Clinic (Europe/London) opens
Monday–Friday 08:00–18:00; Alice sees patients 09:00–17:00 in room 1; a nurse, Nina, takes
education visits. ``monday`` is a Monday at least a week ahead (never in the past)."""

import datetime as dt
import zoneinfo

import pytest
import time_machine

from care_plans.services import care_plan_default_content, care_plan_revise
from tests.conftest import make_user
from visits.models import Availability, OpeningHours, Room, VisitType

LONDON = zoneinfo.ZoneInfo("Europe/London")


def at(day: dt.date, hour: int, minute: int = 0) -> dt.datetime:
    """An aware instant at a London wall-clock time."""
    return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=LONDON)


@pytest.fixture
def monday() -> dt.date:
    today = dt.date.today()
    return today + dt.timedelta(days=7 + (7 - today.weekday()) % 7)


@pytest.fixture
def room(center):
    return Room.objects.create(center=center, name="Room 1")


@pytest.fixture
def clinic(center, alice, room):
    for weekday in range(5):
        OpeningHours.objects.create(
            center=center, weekday=weekday, opens=dt.time(8), closes=dt.time(18)
        )
        Availability.objects.create(
            clinician=alice,
            center=center,
            weekday=weekday,
            starts=dt.time(9),
            ends=dt.time(17),
            room=room,
        )
    return center


@pytest.fixture
def follow_up(db):
    return VisitType.objects.create(
        code="follow_up", name="Follow-up", duration_minutes=30, roles="endocrinologist"
    )


@pytest.fixture
def education(db):
    return VisitType.objects.create(
        code="education",
        name="Diabetes education",
        duration_minutes=45,
        roles="nurse",
        is_follow_up=False,
    )


@pytest.fixture
def nurse(center):
    return make_user("nina", "nurse", center, first_name="Nina")


@pytest.fixture
def plan(patient, alice):
    return care_plan_revise(
        patient=patient,
        by=alice,
        reason="First plan",
        # Reviewed yearly, so an aged plan is due for a visit without being "review overdue".
        content={**care_plan_default_content(patient=patient), "review_interval_days": 365},
    )


# --- The front desk (issue #19): a fixed clock and two endocrinologists' weekdays ------------
DESK_NOW = dt.datetime(2027, 2, 26, 10, tzinfo=dt.UTC)  # a Friday; London is on GMT


@pytest.fixture
def clock():
    with time_machine.travel(DESK_NOW, tick=False) as traveller:
        yield traveller


@pytest.fixture
def desk(clock, center, alice, bob):
    room = Room.objects.create(center=center, name="Room 1")
    room2 = Room.objects.create(center=center, name="Room 2")
    for weekday in range(5):
        OpeningHours.objects.create(
            center=center, weekday=weekday, opens=dt.time(8), closes=dt.time(18)
        )
        for clinician, where in ((alice, room), (bob, room2)):
            Availability.objects.create(
                clinician=clinician,
                center=center,
                weekday=weekday,
                starts=dt.time(9),
                ends=dt.time(17),
                room=where,
            )
    return center
