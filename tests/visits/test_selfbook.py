"""Patients book for themselves (issue #19 §2, §7): the home page's prompt, the booking page,
moving and cancelling within the change window, requests, and the API. The clock is fixed:
Friday 26 February 2027, 10:00 UTC (London is on GMT); Alice (the patient's endocrinologist)
and Bob (not on their team) both work 09:00–17:00 on weekdays."""

import datetime as dt
import json

import pytest
from django.urls import reverse

from care_plans.services import care_plan_default_content, care_plan_revise
from tests.conftest import make_patient, make_user
from visits.models import (
    Visit,
    VisitChange,
    VisitRequest,
    VisitType,
)

NOW = dt.datetime(2027, 2, 26, 10, tzinfo=dt.UTC)
MONDAY = dt.date(2027, 3, 1)


def at(day: dt.date, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=dt.UTC)


@pytest.fixture
def follow_up(db):
    return VisitType.objects.create(
        code="follow_up",
        name="Follow-up",
        duration_minutes=30,
        roles="endocrinologist",
        patient_bookable=True,
    )


@pytest.fixture
def urgent(db):
    return VisitType.objects.create(
        code="urgent", name="Urgent review", duration_minutes=20, roles="endocrinologist"
    )


@pytest.fixture
def me(clock, client, patient_user):
    client.force_login(patient_user)
    return client


def _book(client, start, clinician, visit_type, **extra):
    data = {
        "visit_type": visit_type.pk,
        "start": start.isoformat(),
        "slot_clinician": clinician.pk,
        **extra,
    }
    return client.post(reverse("visits:self_book"), data)


def test_it_keeps_the_booking_page_at_the_invites_address():
    assert reverse("visits:self_book") == "/visits/book/"


def test_it_offers_book_your_follow_up_on_the_home_page_when_overdue(
    clock, me, patient, alice, desk, follow_up
):
    clock.move_to(NOW - dt.timedelta(days=120))
    care_plan_revise(
        patient=patient,
        by=alice,
        reason="First plan",
        content=care_plan_default_content(patient=patient),
    )
    clock.move_to(NOW)
    page = me.get("/").content.decode()
    assert 'id="book-follow-up"' in page and "/visits/book/" in page
    _book(me, at(MONDAY, 9), alice, follow_up)
    assert 'id="book-follow-up"' not in me.get("/").content.decode()


def test_it_shows_free_times_of_the_own_care_team_only(me, patient, alice, bob, desk, follow_up):
    page = me.get(reverse("visits:self_book")).content.decode()
    assert "Alice" in page and "Bob" not in page
    # Friday 10:00 now: the 24-hour window leaves nothing before Monday... except Saturday? No:
    # weekdays only, so the first free time is Monday 09:00.
    assert at(MONDAY, 9).isoformat() in page
    assert at(dt.date(2027, 2, 26), 15).isoformat() not in page


def test_it_books_a_free_time_for_the_patient(me, patient, patient_user, alice, desk, follow_up):
    response = _book(me, at(MONDAY, 9), alice, follow_up)
    assert response.status_code == 302
    visit = Visit.objects.get(patient=patient)
    assert (visit.clinician, visit.start_at, visit.booked_by) == (
        alice,
        at(MONDAY, 9),
        patient_user,
    )
    assert visit.room is not None


def test_it_answers_409_with_team_times_when_the_slot_was_taken(
    me, patient, alice, staff, desk, follow_up
):
    other = make_patient("MRN009", center=desk, endocrinologists=[alice])
    Visit.objects.create(
        patient=other,
        clinician=alice,
        visit_type=follow_up,
        center=desk,
        start_at=at(MONDAY, 9),
        end_at=at(MONDAY, 9, 30),
    )
    response = _book(me, at(MONDAY, 9), alice, follow_up)
    assert response.status_code == 409
    assert "already has a visit" in response.content.decode()
    assert not Visit.objects.filter(patient=patient).exists()


@pytest.mark.parametrize(
    "start, reason",
    [
        (dt.datetime(2027, 2, 26, 15, tzinfo=dt.UTC), "hours before"),  # inside 24 hours
        (dt.datetime(2027, 3, 1, 9, 10, tzinfo=dt.UTC), "not available"),  # off the grid? fits
    ],
)
def test_it_refuses_times_the_rules_forbid(me, patient, alice, desk, follow_up, start, reason):
    response = _book(me, start, alice, follow_up)
    if reason == "not available":  # 09:10 is inside Alice's session: allowed by the rules
        assert response.status_code == 302
    else:
        assert response.status_code == 400
        assert reason in response.content.decode()


def test_it_refuses_a_type_patients_may_not_book_and_a_clinician_off_the_team(
    me, patient, alice, bob, desk, follow_up, urgent
):
    response = _book(me, at(MONDAY, 9), alice, urgent)
    # The page falls back to a bookable type for an unknown choice: the POSTed urgent id is not
    # among the types patients may book, so the follow-up is what gets booked... with Alice.
    assert response.status_code == 302
    assert Visit.objects.get(patient=patient).visit_type == follow_up
    response = _book(me, at(MONDAY, 11), bob, follow_up)
    assert response.status_code == 400
    assert "care team" in response.content.decode()


def test_it_answers_404_for_another_patients_id(me, other_patient, desk, follow_up):
    assert me.get(reverse("visits:self_book"), {"patient": other_patient.pk}).status_code == 404
    response = me.post(reverse("visits:self_book"), {"patient": other_patient.pk})
    assert response.status_code == 404


def test_it_serves_staff_the_staff_booking_page_at_the_same_address(
    client, staff, patient, desk, follow_up
):
    client.force_login(staff)
    response = client.get(reverse("visits:self_book"), {"patient": patient.pk})
    assert response.status_code == 200
    assert "Book a visit for" in response.content.decode()


@pytest.mark.parametrize(
    "data",
    [
        {"start": "\x00", "slot_clinician": "1"},
        {"start": "2027-03-01T09:00", "slot_clinician": "1"},  # no zone
        {"start": "9999-12-31T23:59:00+00:00", "slot_clinician": "1"},
        {"start": "2027-03-01T09:00:00+00:00", "slot_clinician": "1" + "0" * 400},
        {"move": "9" * 400},
        {"visit_type": "1" * 50, "date": "99999-01-01"},
        {"note": "x" * 100_000},
    ],
)
def test_it_answers_hostile_input_with_4xx(me, patient, alice, desk, follow_up, data):
    response = me.post(reverse("visits:self_book"), data)
    assert 400 <= response.status_code < 500
    response = me.get(reverse("visits:self_book"), {k: v for k, v in data.items() if k != "start"})
    assert response.status_code < 500


def test_it_answers_a_lone_surrogate_with_4xx(me, patient, desk, follow_up):
    body = "start=%ED%A0%80&slot_clinician=%ED%A0%80&move=&note=%00"
    response = me.post(
        reverse("visits:self_book"), body, content_type="application/x-www-form-urlencoded"
    )
    assert 400 <= response.status_code < 500
    assert me.get(reverse("visits:self_book") + "?visit_type=%ED%A0%80&date=%00").status_code < 500


def test_it_moves_a_visit_and_records_the_move(me, patient, alice, desk, follow_up):
    _book(me, at(MONDAY, 9), alice, follow_up)
    visit = Visit.objects.get(patient=patient)
    page = me.get(reverse("visits:self_book"), {"move": visit.pk}).content.decode()
    assert at(MONDAY, 11).isoformat() in page
    response = _book(me, at(MONDAY, 11), alice, follow_up, move=visit.pk)
    assert response.status_code == 302
    visit.refresh_from_db()
    assert visit.start_at == at(MONDAY, 11)
    assert VisitChange.objects.filter(visit=visit, action="moved").exists()


def test_it_refuses_changes_inside_the_window(clock, me, patient, alice, desk, follow_up):
    _book(me, at(MONDAY, 9), alice, follow_up)
    visit = Visit.objects.get(patient=patient)
    clock.move_to(at(MONDAY, 9) - dt.timedelta(hours=23))
    response = me.post(reverse("visits:self_cancel", args=[visit.pk]), {"reason": "ill"})
    assert response.status_code == 302
    visit.refresh_from_db()
    assert visit.status == Visit.Status.BOOKED
    # The visit panel's cancel (the older path) keeps the same window.
    me.post(reverse("visits-action", args=[visit.pk, "cancel"]), {"reason": "ill"})
    visit.refresh_from_db()
    assert visit.status == Visit.Status.BOOKED
    response = _book(me, at(MONDAY, 15), alice, follow_up, move=visit.pk)
    assert response.status_code == 400


def test_it_cancels_in_time_and_tells_the_patient(me, patient, alice, desk, follow_up):
    _book(me, at(MONDAY, 9), alice, follow_up)
    visit = Visit.objects.get(patient=patient)
    response = me.post(reverse("visits:self_cancel", args=[visit.pk]), {"reason": "away"})
    assert response.status_code == 302
    visit.refresh_from_db()
    assert (visit.status, visit.cancel_reason) == (Visit.Status.CANCELLED, "away")


def test_it_refuses_cancelling_someone_elses_visit(me, other_patient, bob, desk, follow_up):
    visit = Visit.objects.create(
        patient=other_patient,
        clinician=bob,
        visit_type=follow_up,
        center=desk,
        start_at=at(MONDAY, 10),
        end_at=at(MONDAY, 10, 30),
    )
    assert (
        me.post(reverse("visits:self_cancel", args=[visit.pk]), {"reason": "x"}).status_code == 404
    )
    visit.refresh_from_db()
    assert visit.status == Visit.Status.BOOKED


def test_it_takes_a_request_and_shows_it_to_staff(me, client, patient, staff, desk, follow_up):
    response = me.post(
        reverse("visits:self_request"), {"note": "Tuesday evenings", "visit_type": follow_up.pk}
    )
    assert response.status_code == 302
    item = VisitRequest.objects.get(patient=patient)
    assert (item.note, item.visit_type, item.is_open) == ("Tuesday evenings", follow_up, True)
    assert "Tuesday evenings" in me.get(reverse("visits:self_book")).content.decode()
    assert me.post(reverse("visits:self_request"), {"note": "  "}).status_code == 302
    assert VisitRequest.objects.count() == 1
    client.force_login(staff)
    page = client.get(reverse("visits:requests")).content.decode()
    assert "Tuesday evenings" in page and patient.name in page
    client.post(reverse("visits:request_close", args=[item.pk]))
    item.refresh_from_db()
    assert not item.is_open


def test_it_hides_requests_of_another_center(client, patient, other_staff, desk):
    item = VisitRequest.objects.create(patient=patient, note="mornings")
    client.force_login(other_staff)
    assert "mornings" not in client.get(reverse("visits:requests")).content.decode()
    assert client.post(reverse("visits:request_close", args=[item.pk])).status_code == 404


def test_it_closes_the_open_request_when_the_patient_books(me, patient, alice, desk, follow_up):
    VisitRequest.objects.create(patient=patient, note="mornings")
    _book(me, at(MONDAY, 9), alice, follow_up)
    assert not VisitRequest.objects.get(patient=patient).is_open


# --- API -------------------------------------------------------------------------------------


def test_the_api_gives_a_patient_their_care_teams_slots(
    me, patient, alice, desk, follow_up, other_patient
):
    url = reverse("api-visits-slots")
    response = me.get(url, {"visit_type": follow_up.pk, "date": MONDAY.isoformat()})
    assert response.status_code == 200
    slots = response.json()
    assert slots and {s["clinician"] for s in slots} == {alice.pk}
    assert slots[0]["start"].startswith("2027-03-01T09:00")
    own = me.get(
        url, {"visit_type": follow_up.pk, "date": MONDAY.isoformat(), "patient": patient.pk}
    )
    assert own.json() == slots
    other = {"visit_type": follow_up.pk, "date": MONDAY.isoformat(), "patient": other_patient.pk}
    assert me.get(url, other).status_code == 404


def test_the_api_refuses_a_patient_types_they_may_not_book(me, patient, desk, urgent):
    response = me.get(
        reverse("api-visits-slots"), {"visit_type": urgent.pk, "date": MONDAY.isoformat()}
    )
    assert response.status_code == 400


def test_the_api_books_for_oneself_and_answers_409_then_404(
    me, patient, alice, desk, follow_up, other_patient
):
    url = reverse("api-visits-list")
    body = {
        "patient": patient.pk,
        "clinician": alice.pk,
        "visit_type": follow_up.pk,
        "start": at(MONDAY, 9).isoformat(),
    }
    response = me.post(url, json.dumps(body), content_type="application/json")
    assert response.status_code == 201, response.content
    again = me.post(url, json.dumps({**body}), content_type="application/json")
    assert again.status_code == 409
    assert all(s["clinician"] == alice.pk for s in again.json()["next_free"])
    someone = me.post(
        url, json.dumps({**body, "patient": other_patient.pk}), content_type="application/json"
    )
    assert someone.status_code == 404
    late = {**body, "start": dt.datetime(2027, 2, 26, 15, tzinfo=dt.UTC).isoformat()}
    assert me.post(url, json.dumps(late), content_type="application/json").status_code == 400


def test_the_api_keeps_the_window_on_a_patients_cancel(clock, me, patient, alice, desk, follow_up):
    _book(me, at(MONDAY, 9), alice, follow_up)
    visit = Visit.objects.get(patient=patient)
    clock.move_to(at(MONDAY, 8))
    url = reverse("api-visits-cancel", args=[visit.pk])
    response = me.post(url, json.dumps({"reason": "ill"}), content_type="application/json")
    assert response.status_code == 400
    visit.refresh_from_db()
    assert visit.status == Visit.Status.BOOKED


def test_a_patient_without_a_center_can_still_leave_a_request(client, db, clock, follow_up):
    user = make_user("lone", "patient")
    make_patient("MRN777", user=user)
    client.force_login(user)
    page = client.get(reverse("visits:self_book"))
    assert page.status_code == 200
    assert 'id="self-request-note"' in page.content.decode()


def test_it_speaks_chinese(me, patient, alice, desk, follow_up):
    patient_user = patient.user
    patient_user.language = "zh-hans"
    patient_user.save(update_fields=["language"])
    page = me.get(reverse("visits:self_book"), HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "预约您的随访" in page and "您的医护团队的空闲时间" in page


def test_the_home_page_shows_a_moved_notice(me, patient, alice, desk, follow_up, staff):
    from visits.models import VisitMessage
    from visits.services import visit_message_send, visit_reschedule

    _book(me, at(MONDAY, 9), alice, follow_up)
    visit = Visit.objects.get(patient=patient)
    visit = visit_reschedule(visit=visit, start=at(MONDAY, 11), by=staff)
    visit_message_send(visit_id=visit.pk, kind=VisitMessage.Kind.MOVED, visit_start=visit.start_at)
    page = me.get("/").content.decode()
    assert 'id="visit-notices"' in page and "has been moved to" in page
