"""Setup pages: a center's hours, closed days and rooms; a clinician's week and exceptions;
visit types. Who may use them, what they refuse, and that the slot search sees the change."""

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import translation

from accounts.models import AuditEvent
from tests.conftest import make_user
from tests.visits.conftest import at
from visits import services
from visits.models import (
    Availability,
    AvailabilityException,
    ClosedDay,
    OpeningHours,
    Room,
    Visit,
    VisitType,
)

SETUP = reverse("visits-setup")


def slot_starts(clinic, visit_type, day, clinician=None):
    return [
        s.start
        for s in services.visit_slots(
            visit_type=visit_type, center=clinic, first=day, clinician=clinician
        )
    ]


@pytest.fixture
def other_clinician(other_center):
    return make_user("oscar", "endocrinologist", other_center)


# --- Access -------------------------------------------------------------------------------


def test_it_shows_the_setup_to_staff_of_the_center(client, staff, clinic, alice):
    client.force_login(staff)
    response = client.get(SETUP)
    assert response.status_code == 200
    page = response.content.decode()
    assert "North Clinic" in page and "08:00–18:00" in page and "Room 1" in page
    assert reverse("visits-setup-clinician", args=[alice.pk]) in page
    response = client.get(reverse("visits-setup-clinician", args=[alice.pk]))
    assert response.status_code == 200 and "09:00–17:00" in response.content.decode()


def test_it_refuses_patients_and_clinicians(client, clinic, alice, nurse, patient_user):
    hours = OpeningHours.objects.filter(center=clinic).first()
    for user in (patient_user, alice, nurse):
        client.force_login(user)
        assert client.get(SETUP).status_code == 403
        assert (
            client.post(SETUP, {"part": "closed", "closed-date": "2030-01-02"}).status_code == 403
        )
        url = reverse("visits-setup-remove", args=["hours", hours.pk])
        assert client.post(url).status_code == 403
        assert client.get(reverse("visits-setup-clinician", args=[alice.pk])).status_code == 403
        assert client.get(reverse("visits-setup-types")).status_code == 403
    assert not ClosedDay.objects.exists()
    assert OpeningHours.objects.filter(pk=hours.pk).exists()


def test_it_redirects_anonymous_visitors_to_sign_in(client, clinic, alice):
    for url in (SETUP, reverse("visits-setup-clinician", args=[alice.pk])):
        response = client.get(url)
        assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_it_keeps_other_centers_staff_out(client, other_staff, clinic, alice, room):
    """Olga (South Clinic) sees her own center's setup, never the North Clinic's rows."""
    client.force_login(other_staff)
    page = client.get(SETUP, {"center": clinic.pk}).content.decode()
    assert "South Clinic" in page and "Room 1" not in page
    assert client.get(reverse("visits-setup-clinician", args=[alice.pk])).status_code == 404
    hours = OpeningHours.objects.filter(center=clinic).first()
    assert client.post(reverse("visits-setup-remove", args=["hours", hours.pk])).status_code == 404
    assert client.post(reverse("visits-setup-remove", args=["rooms", room.pk])).status_code == 404
    session = Availability.objects.filter(clinician=alice).first()
    url = reverse("visits-setup-clinician-remove", args=[alice.pk, "sessions", session.pk])
    assert client.post(url).status_code == 404
    url = reverse("visits-setup-clinician", args=[alice.pk])
    response = client.post(url, {"part": "exceptions", "exceptions-date": "2030-01-02"})
    assert response.status_code == 404
    assert OpeningHours.objects.filter(pk=hours.pk).exists()
    assert Room.objects.filter(pk=room.pk).exists()
    assert Availability.objects.filter(pk=session.pk).exists()
    assert not AvailabilityException.objects.exists()


def test_it_lets_an_admin_pick_the_center(client, admin_user, clinic, other_center):
    client.force_login(admin_user)
    assert "North Clinic" in client.get(SETUP, {"center": clinic.pk}).content.decode()
    response = client.post(
        f"{SETUP}?center={other_center.pk}",
        {"part": "closed", "closed-date": "2030-01-02", "closed-reason": "Holiday"},
    )
    assert response.status_code == 302 and response["Location"].endswith(
        f"?center={other_center.pk}"
    )
    assert ClosedDay.objects.get().center == other_center
    for bad in ("abc", "999999", "9" * 30):
        assert client.get(SETUP, {"center": bad}).status_code == 404


def test_it_answers_unknown_ids_and_parts_with_404(client, staff, clinic, alice):
    client.force_login(staff)
    assert client.post(reverse("visits-setup-remove", args=["hours", 999999])).status_code == 404
    assert client.post(reverse("visits-setup-remove", args=["users", 1])).status_code == 404
    url = reverse("visits-setup-clinician-remove", args=[alice.pk, "nothing", 1])
    assert client.post(url).status_code == 404
    assert client.get(reverse("visits-setup-clinician", args=[staff.pk])).status_code == 404
    assert client.get(reverse("visits-setup-clinician", args=[999999])).status_code == 404
    assert client.post(SETUP, {"part": "bogus"}).status_code == 400
    huge = "9" * 30
    for url in (
        f"/visits/setup/hours/{huge}/remove/",
        f"/visits/setup/clinicians/{huge}/",
        f"/visits/setup/clinicians/{alice.pk}/sessions/{huge}/remove/",
        f"/visits/setup/types/{huge}/",
    ):
        assert client.post(url).status_code in (403, 404)


# --- Center: hours, closed days, rooms ----------------------------------------------------


def test_it_adds_a_closed_day_that_removes_the_days_slots(
    client, staff, clinic, alice, follow_up, monday
):
    assert slot_starts(clinic, follow_up, monday)
    client.force_login(staff)
    response = client.post(
        SETUP, {"part": "closed", "closed-date": monday.isoformat(), "closed-reason": "Holiday"}
    )
    assert response.status_code == 302
    assert ClosedDay.objects.get(center=clinic).reason == "Holiday"
    assert slot_starts(clinic, follow_up, monday) == []
    assert slot_starts(clinic, follow_up, monday + dt.timedelta(days=1))
    event = AuditEvent.objects.get(action="change")
    assert (
        event.username == "sam" and "closed day" in event.what and monday.isoformat() in event.what
    )
    page = client.get(SETUP).content.decode()
    assert "Holiday" in page
    # Removing it brings the slots back.
    day = ClosedDay.objects.get()
    assert client.post(reverse("visits-setup-remove", args=["closed", day.pk])).status_code == 302
    assert slot_starts(clinic, follow_up, monday)


def test_it_warns_about_visits_booked_on_a_new_closed_day(
    client, staff, clinic, patient, alice, follow_up, monday
):
    services.visit_book(
        patient=patient, clinician=alice, visit_type=follow_up, start=at(monday, 10), by=staff
    )
    client.force_login(staff)
    response = client.post(
        SETUP, {"part": "closed", "closed-date": monday.isoformat()}, follow=True
    )
    assert "1 visit(s) are still booked" in response.content.decode()


@pytest.mark.parametrize(
    "data, error",
    [
        ({"closed-date": "2030-02-30"}, "Enter a valid date."),
        ({"closed-date": "9999-01-01"}, "Choose a date between"),
        ({"closed-date": ""}, "This field is required."),
    ],
)
def test_it_refuses_bad_closed_days(client, staff, clinic, data, error):
    client.force_login(staff)
    response = client.post(SETUP, {"part": "closed", **data})
    assert response.status_code == 400 and error in response.content.decode()
    assert not ClosedDay.objects.exists()


def test_it_refuses_a_second_closed_day_on_the_same_date(client, staff, clinic):
    ClosedDay.objects.create(center=clinic, date=dt.date(2030, 1, 2))
    client.force_login(staff)
    response = client.post(SETUP, {"part": "closed", "closed-date": "2030-01-02"})
    assert response.status_code == 400 and "already closed" in response.content.decode()


def test_it_answers_a_simultaneous_duplicate_with_a_form_error(client, staff, clinic, monkeypatch):
    """Two people close the same day at once: the unique constraint decides, no 500."""
    from visits.forms import ClosedDayForm

    monkeypatch.setattr(ClosedDayForm, "clean_date", lambda form: form.cleaned_data["date"])
    ClosedDay.objects.create(center=clinic, date=dt.date(2030, 1, 2))
    client.force_login(staff)
    response = client.post(SETUP, {"part": "closed", "closed-date": "2030-01-02"})
    assert response.status_code == 400 and "a moment ago" in response.content.decode()
    assert ClosedDay.objects.count() == 1


def test_it_adds_opening_hours_with_a_lunch_break(client, staff, center, alice, follow_up, monday):
    Availability.objects.create(
        clinician=alice, center=center, weekday=0, starts=dt.time(9), ends=dt.time(17)
    )
    client.force_login(staff)
    for opens, closes in (("09:00", "12:00"), ("13:00", "17:00")):
        data = {"part": "hours", "hours-weekday": "0", "hours-opens": opens, "hours-closes": closes}
        assert client.post(SETUP, data).status_code == 302
    tz = services.center_zone(center)
    starts = [s.astimezone(tz).time() for s in slot_starts(center, follow_up, monday)]
    assert dt.time(9) in starts and dt.time(11, 30) in starts and dt.time(16, 30) in starts
    assert dt.time(12) not in starts and dt.time(12, 30) not in starts


@pytest.mark.parametrize(
    "opens, closes, error",
    [
        ("12:00", "09:00", "The end must be after the start."),
        ("10:00", "10:00", "The end must be after the start."),
        ("07:00", "09:00", "overlaps another"),  # the clinic opens 08:00–18:00
        ("25:00", "26:00", "Enter a valid time."),
    ],
)
def test_it_refuses_bad_opening_hours(client, staff, clinic, opens, closes, error):
    client.force_login(staff)
    before = OpeningHours.objects.count()
    data = {"part": "hours", "hours-weekday": "0", "hours-opens": opens, "hours-closes": closes}
    response = client.post(SETUP, data)
    assert response.status_code == 400 and error in response.content.decode()
    assert OpeningHours.objects.count() == before


def test_it_refuses_an_unknown_weekday(client, staff, clinic):
    client.force_login(staff)
    data = {"part": "hours", "hours-weekday": "9", "hours-opens": "08:00", "hours-closes": "09:00"}
    assert client.post(SETUP, data).status_code == 400


def test_it_removes_opening_hours_and_the_days_slots_go(
    client, staff, clinic, alice, follow_up, monday
):
    client.force_login(staff)
    hours = OpeningHours.objects.get(center=clinic, weekday=monday.weekday())
    assert client.post(reverse("visits-setup-remove", args=["hours", hours.pk])).status_code == 302
    assert slot_starts(clinic, follow_up, monday) == []


def test_it_adds_and_removes_rooms(client, staff, clinic, room, patient, alice, follow_up, monday):
    client.force_login(staff)
    assert client.post(SETUP, {"part": "rooms", "rooms-name": "Room 2"}).status_code == 302
    response = client.post(SETUP, {"part": "rooms", "rooms-name": "room 2"})
    assert response.status_code == 400 and "already a room" in response.content.decode()
    assert client.post(SETUP, {"part": "rooms", "rooms-name": "  "}).status_code == 400
    # A room with visits is kept (the visits refer to it), with a message, not a 500.
    services.visit_book(
        patient=patient, clinician=alice, visit_type=follow_up, start=at(monday, 10), by=staff
    )
    response = client.post(reverse("visits-setup-remove", args=["rooms", room.pk]), follow=True)
    assert response.status_code == 200 and "cannot be removed" in response.content.decode()
    assert Room.objects.filter(pk=room.pk).exists()
    spare = Room.objects.get(name="Room 2")
    assert client.post(reverse("visits-setup-remove", args=["rooms", spare.pk])).status_code == 302
    assert not Room.objects.filter(pk=spare.pk).exists()


# --- A clinician's week -------------------------------------------------------------------


def test_it_adds_a_weekly_session_that_adds_slots(client, staff, center, alice, follow_up, monday):
    OpeningHours.objects.create(center=center, weekday=1, opens=dt.time(8), closes=dt.time(18))
    tuesday = monday + dt.timedelta(days=1)
    assert slot_starts(center, follow_up, tuesday) == []
    room = Room.objects.create(center=center, name="Room 9")
    client.force_login(staff)
    url = reverse("visits-setup-clinician", args=[alice.pk])
    data = {
        "part": "sessions",
        "sessions-weekday": "1",
        "sessions-starts": "09:00",
        "sessions-ends": "11:00",
        "sessions-room": str(room.pk),
    }
    assert client.post(url, data).status_code == 302
    slots = services.visit_slots(visit_type=follow_up, center=center, first=tuesday)
    assert len(slots) == 7 and {s.room_id for s in slots} == {room.pk}  # 09:00 … 10:30
    assert "weekly availability" in AuditEvent.objects.get(action="change").what


@pytest.mark.parametrize(
    "starts, ends, error",
    [
        ("11:00", "10:00", "The end must be after the start."),
        ("16:00", "18:00", "overlaps another session"),  # Alice's Monday is 09:00–17:00
        ("08:00", "09:30", "overlaps another session"),
        ("", "10:00", "This field is required."),
    ],
)
def test_it_refuses_bad_or_overlapping_sessions(client, staff, clinic, alice, starts, ends, error):
    client.force_login(staff)
    before = Availability.objects.count()
    data = {"part": "sessions", "sessions-weekday": "0", "sessions-starts": starts}
    response = client.post(
        reverse("visits-setup-clinician", args=[alice.pk]), {**data, "sessions-ends": ends}
    )
    assert response.status_code == 400 and error in response.content.decode()
    assert Availability.objects.count() == before


def test_it_accepts_a_session_that_touches_another(client, staff, clinic, alice):
    client.force_login(staff)
    data = {"part": "sessions", "sessions-weekday": "0"}
    data |= {"sessions-starts": "17:00", "sessions-ends": "18:00"}
    assert client.post(reverse("visits-setup-clinician", args=[alice.pk]), data).status_code == 302


def test_it_refuses_another_centers_room(client, staff, clinic, alice, other_center):
    foreign = Room.objects.create(center=other_center, name="Far room")
    client.force_login(staff)
    data = {"part": "sessions", "sessions-weekday": "5", "sessions-starts": "09:00"}
    data |= {"sessions-ends": "10:00", "sessions-room": str(foreign.pk)}
    response = client.post(reverse("visits-setup-clinician", args=[alice.pk]), data)
    assert response.status_code == 400 and not Availability.objects.filter(weekday=5).exists()


def test_it_adds_whole_day_leave_that_removes_the_clinicians_slots(
    client, staff, clinic, alice, follow_up, monday
):
    client.force_login(staff)
    data = {"part": "exceptions", "exceptions-date": monday.isoformat(), "exceptions-kind": "leave"}
    response = client.post(reverse("visits-setup-clinician", args=[alice.pk]), data)
    assert response.status_code == 302
    assert slot_starts(clinic, follow_up, monday) == []
    page = client.get(reverse("visits-setup-clinician", args=[alice.pk])).content.decode()
    assert "Whole day" in page


def test_it_adds_a_training_morning_that_removes_those_slots(
    client, staff, clinic, alice, follow_up, monday
):
    client.force_login(staff)
    data = {
        "part": "exceptions",
        "exceptions-date": monday.isoformat(),
        "exceptions-kind": "training",
        "exceptions-starts": "09:00",
        "exceptions-ends": "12:00",
        "exceptions-note": "Insulin pump course",
    }
    assert client.post(reverse("visits-setup-clinician", args=[alice.pk]), data).status_code == 302
    starts = slot_starts(clinic, follow_up, monday)
    assert at(monday, 11, 30) not in starts and at(monday, 12) in starts


def test_it_adds_an_extra_session_that_adds_slots(client, staff, clinic, alice, follow_up, monday):
    saturday = monday + dt.timedelta(days=5)
    OpeningHours.objects.create(center=clinic, weekday=5, opens=dt.time(8), closes=dt.time(13))
    assert slot_starts(clinic, follow_up, saturday) == []
    client.force_login(staff)
    data = {
        "part": "exceptions",
        "exceptions-date": saturday.isoformat(),
        "exceptions-kind": "extra",
        "exceptions-starts": "09:00",
        "exceptions-ends": "10:00",
    }
    assert client.post(reverse("visits-setup-clinician", args=[alice.pk]), data).status_code == 302
    assert slot_starts(clinic, follow_up, saturday) == [at(saturday, 9, m) for m in (0, 15, 30)]
    exception = AvailabilityException.objects.get()
    url = reverse("visits-setup-clinician-remove", args=[alice.pk, "exceptions", exception.pk])
    assert client.post(url).status_code == 302
    assert slot_starts(clinic, follow_up, saturday) == []


@pytest.mark.parametrize(
    "extra, error",
    [
        ({"exceptions-kind": "extra"}, "needs its start and end"),
        ({"exceptions-kind": "leave", "exceptions-starts": "10:00"}, "Give both times"),
        (
            {
                "exceptions-kind": "training",
                "exceptions-starts": "12:00",
                "exceptions-ends": "10:00",
            },
            "The end must be after the start.",
        ),
        (
            {"exceptions-kind": "extra", "exceptions-starts": "16:00", "exceptions-ends": "18:00"},
            "overlaps another session",
        ),
        ({"exceptions-kind": "holiday"}, "Select a valid choice."),
        ({"exceptions-kind": "leave", "exceptions-date": "not-a-date"}, "Enter a valid date."),
        ({"exceptions-kind": "leave", "exceptions-date": "0001-01-01"}, "Choose a date between"),
    ],
)
def test_it_refuses_bad_exceptions(client, staff, clinic, alice, monday, extra, error):
    client.force_login(staff)
    data = {"part": "exceptions", "exceptions-date": monday.isoformat(), **extra}
    response = client.post(reverse("visits-setup-clinician", args=[alice.pk]), data)
    assert response.status_code == 400 and error in response.content.decode()
    assert not AvailabilityException.objects.exists()


def test_it_warns_about_visits_booked_during_new_leave(
    client, staff, clinic, patient, alice, follow_up, monday
):
    services.visit_book(
        patient=patient, clinician=alice, visit_type=follow_up, start=at(monday, 10), by=staff
    )
    client.force_login(staff)
    data = {"part": "exceptions", "exceptions-date": monday.isoformat(), "exceptions-kind": "leave"}
    url = reverse("visits-setup-clinician", args=[alice.pk])
    response = client.post(url, data, follow=True)
    assert "1 visit(s) are still booked" in response.content.decode()
    assert Visit.objects.get().status == Visit.Status.BOOKED  # staff decide what to do


def test_a_part_day_leave_warns_only_about_the_visits_it_overlaps(
    client, staff, clinic, patient, alice, follow_up, monday
):
    services.visit_book(
        patient=patient, clinician=alice, visit_type=follow_up, start=at(monday, 14), by=staff
    )
    client.force_login(staff)
    url = reverse("visits-setup-clinician", args=[alice.pk])
    data = {
        "part": "exceptions",
        "exceptions-date": monday.isoformat(),
        "exceptions-kind": "training",
        "exceptions-starts": "09:00",
        "exceptions-ends": "10:00",
    }
    assert "still booked" not in client.post(url, data, follow=True).content.decode()
    data.update({"exceptions-date": monday.isoformat(), "exceptions-starts": "13:30"})
    data["exceptions-ends"] = "14:15"
    assert "1 visit(s) are still booked" in client.post(url, data, follow=True).content.decode()


def test_it_lets_an_admin_set_up_any_clinician(client, admin_user, other_clinician):
    client.force_login(admin_user)
    url = reverse("visits-setup-clinician", args=[other_clinician.pk])
    assert client.get(url).status_code == 200
    data = {"part": "sessions", "sessions-weekday": "2"}
    data |= {"sessions-starts": "09:00", "sessions-ends": "10:00"}
    assert client.post(url, data).status_code == 302
    assert Availability.objects.get().center == other_clinician.care_center


# --- Visit types ------------------------------------------------------------------------------


def type_data(**changes):
    data = {
        "name": "Foot clinic",
        "code": "foot_clinic",
        "duration_minutes": "40",
        "roles": ["nurse", "endocrinologist"],
        "mode": "in_person",
        "active": "on",
    }
    return {**data, **changes}


def test_it_shows_staff_the_visit_types_read_only(client, staff, follow_up):
    client.force_login(staff)
    response = client.get(reverse("visits-setup-types"))
    assert response.status_code == 200 and "Follow-up" in response.content.decode()
    assert reverse("visits-setup-type", args=[follow_up.pk]) not in response.content.decode()
    assert client.post(reverse("visits-setup-types"), type_data()).status_code == 403
    assert client.get(reverse("visits-setup-type", args=[follow_up.pk])).status_code == 403
    assert not VisitType.objects.filter(code="foot_clinic").exists()


def test_it_lets_an_admin_add_a_visit_type_that_nurses_can_take(
    client, admin_user, clinic, nurse, monday
):
    Availability.objects.create(
        clinician=nurse, center=clinic, weekday=0, starts=dt.time(9), ends=dt.time(10)
    )
    client.force_login(admin_user)
    assert client.post(reverse("visits-setup-types"), type_data()).status_code == 302
    foot = VisitType.objects.get(code="foot_clinic")
    assert foot.role_list == ["nurse", "endocrinologist"] and foot.duration_minutes == 40
    assert slot_starts(clinic, foot, monday, clinician=nurse) == [at(monday, 9), at(monday, 9, 15)]
    assert "visit type foot_clinic added" in AuditEvent.objects.get(action="change").what


@pytest.mark.parametrize(
    "changes, error",
    [
        ({"duration_minutes": "4"}, "greater than or equal to 5"),
        ({"duration_minutes": "481"}, "less than or equal to 480"),
        ({"duration_minutes": "ten"}, "Enter a whole number."),
        ({"roles": []}, "This field is required."),
        ({"roles": ["staff"]}, "Select a valid choice."),
        ({"mode": "carrier pigeon"}, "Select a valid choice."),
        ({"code": "follow_up"}, "already exists"),
        ({"code": "not a slug!"}, "Enter a valid"),
    ],
)
def test_it_refuses_bad_visit_types(client, admin_user, follow_up, changes, error):
    client.force_login(admin_user)
    response = client.post(reverse("visits-setup-types"), type_data(**changes))
    assert response.status_code == 400 and error in response.content.decode()
    assert VisitType.objects.count() == 1


def test_it_lets_an_admin_change_a_visit_types_duration(
    client, admin_user, clinic, alice, follow_up, monday
):
    client.force_login(admin_user)
    url = reverse("visits-setup-type", args=[follow_up.pk])
    assert client.get(url).status_code == 200
    data = type_data(
        name="Follow-up", code="follow_up", duration_minutes="60", roles=["endocrinologist"]
    )
    assert client.post(url, data).status_code == 302
    starts = slot_starts(clinic, VisitType.objects.get(pk=follow_up.pk), monday, clinician=alice)
    assert starts[:2] == [at(monday, 9), at(monday, 9, 15)] and at(monday, 16, 15) not in starts
    assert at(monday, 16) in starts
    assert client.post(url, type_data(duration_minutes="0")).status_code == 400
    assert client.get(reverse("visits-setup-type", args=[999999])).status_code == 404


def test_a_visit_types_code_is_fixed_once_it_exists(client, admin_user, follow_up):
    """The worklist books by code (follow_up, urgent): renaming it would orphan it."""
    client.force_login(admin_user)
    url = reverse("visits-setup-type", args=[follow_up.pk])
    data = type_data(name="Follow-up", code="renamed", duration_minutes="30")
    assert client.post(url, data).status_code == 302
    assert VisitType.objects.get(pk=follow_up.pk).code == "follow_up"
    empty = client.post(url, {})  # an empty form is answered with its errors
    assert empty.status_code == 400 and "This field is required." in empty.content.decode()


def test_a_garbage_center_is_ignored_on_the_calendar(client, admin_user, clinic):
    client.force_login(admin_user)
    for center in ("abc", "9" * 30, "-1"):
        assert client.get(reverse("visits-calendar"), {"center": center}).status_code == 200


# --- Visit-type names in the viewer's language --------------------------------------------


def test_it_translates_built_in_visit_type_names_only(follow_up):
    custom = VisitType(code="foot_clinic", name="Foot clinic")
    renamed = VisitType(code="follow_up", name="Routine review")
    with translation.override("zh-hans"):
        assert follow_up.label == str(follow_up) == "随访"
        assert custom.label == "Foot clinic" and renamed.label == "Routine review"
        assert VisitType(code="education", name="Diabetes education").label == "糖尿病教育"
    with translation.override("en"):
        assert follow_up.label == "Follow-up"


def test_it_shows_visit_type_names_in_chinese_on_pages(client, staff, follow_up):
    client.force_login(staff)
    response = client.get(reverse("visits-setup-types"), HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert "随访" in response.content.decode()


def test_it_names_the_visit_type_in_the_patients_language_in_reminders_and_ics(
    client, clinic, patient, patient_user, alice, follow_up, monday, staff
):
    visit = services.visit_book(
        patient=patient, clinician=alice, visit_type=follow_up, start=at(monday, 10), by=staff
    )
    patient.language = "zh-hans"
    patient.save(update_fields=["language"])
    status = services.visit_message_send(
        visit_id=visit.pk, kind="reminder", visit_start=visit.start_at
    )
    assert status == "sent"
    assert "随访" in visit.messages.get().text and "Follow-up" not in visit.messages.get().text
    client.force_login(patient_user)
    body = client.get(reverse("visits-my-calendar"), HTTP_ACCEPT_LANGUAGE="en").content
    assert "SUMMARY:随访 — Alice" in body.decode()
    # Staff reading in English see the English name.
    client.force_login(staff)
    page = client.get(reverse("visits-detail", args=[visit.pk]), HTTP_ACCEPT_LANGUAGE="en")
    assert "Follow-up" in page.content.decode()


def test_it_gives_the_api_the_name_and_the_label(client, staff, follow_up):
    client.force_login(staff)
    types = client.get(reverse("api-visit-types-list"), HTTP_ACCEPT_LANGUAGE="zh-hans").json()
    assert [(t["name"], t["label"]) for t in types] == [("Follow-up", "随访")]


def test_it_links_the_setup_from_the_staff_home(client, staff):
    client.force_login(staff)
    page = client.get(reverse("home")).content.decode()
    assert reverse("visits-setup") in page and reverse("visits-setup-types") in page
