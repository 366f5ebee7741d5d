"""Closing a day or a leave moves its visits (issue #19 §3): which booked visits fall in closed
time, where each can move, moving or cancelling them one by one or all at once from the setup
page, and the patient's "moved" / "cancelled" message. Clock fixed on Friday 26 February 2027,
10:00 UTC (London on GMT); Alice and Bob work weekdays 09:00–17:00."""

import datetime as dt

import pytest
from django.urls import reverse

from tests.visits.test_selfbook import MONDAY, at
from visits.models import AvailabilityException, ClosedDay, Visit, VisitMessage
from visits.services import closures

TUESDAY = MONDAY + dt.timedelta(days=1)


def _visit(patient, clinician, start, visit_type, center):
    return Visit.objects.create(
        patient=patient,
        clinician=clinician,
        visit_type=visit_type,
        center=center,
        start_at=start,
        end_at=start + dt.timedelta(minutes=visit_type.duration_minutes),
    )


@pytest.fixture
def booked(desk, patient, alice, follow_up):
    return _visit(patient, alice, at(MONDAY, 10), follow_up, desk)


@pytest.fixture
def staff_client(clock, client, staff):
    client.force_login(staff)
    return client


def test_it_finds_visits_on_a_closed_day_and_in_leave(
    desk, booked, alice, bob, follow_up, other_patient
):
    assert closures.visits_in_closed_time(center=desk) == []
    ClosedDay.objects.create(center=desk, date=MONDAY, reason="Holiday")
    assert closures.visits_in_closed_time(center=desk) == [booked]
    # Part-day leave: Bob's 14:00 visit on Tuesday is inside 13:00–15:00, his 15:00 one is not.
    inside = _visit(other_patient, bob, at(TUESDAY, 14), follow_up, desk)
    _visit(other_patient, bob, at(TUESDAY, 15), follow_up, desk)
    AvailabilityException.objects.create(
        clinician=bob, center=desk, date=TUESDAY, kind="leave", starts=dt.time(13), ends=dt.time(15)
    )
    assert closures.visits_in_closed_time(center=desk) == [booked, inside]
    assert closures.visits_in_closed_time(center=desk, clinician=bob) == [inside]


def test_it_offers_the_same_clinicians_next_time_and_another_clinicians(desk, booked, alice, bob):
    ClosedDay.objects.create(center=desk, date=MONDAY)
    options = closures.move_options(booked)
    assert (options.same.start, options.same.clinician_id) == (at(TUESDAY, 9), alice.pk)
    assert (options.other.start, options.other.clinician_id) == (at(TUESDAY, 9), bob.pk)
    assert options.best == options.same


def test_it_moves_to_another_clinician_when_the_own_is_on_leave_for_weeks(desk, booked, alice, bob):
    for day in range(0, 40):
        AvailabilityException.objects.create(
            clinician=alice, center=desk, date=MONDAY + dt.timedelta(days=day), kind="leave"
        )
    moved = closures.closure_move(visit=booked, by=alice)
    assert (moved.clinician, moved.start_at) == (bob, at(MONDAY, 10))


def test_the_setup_page_lists_them_and_moves_one_telling_the_patient(
    staff_client, desk, booked, alice, django_capture_on_commit_callbacks
):
    ClosedDay.objects.create(center=desk, date=MONDAY)
    page = staff_client.get(reverse("visits-setup")).content.decode()
    assert f'id="closure-{booked.pk}"' in page and booked.patient.name in page
    assert at(TUESDAY, 9).isoformat() in page
    with django_capture_on_commit_callbacks(execute=True):
        response = staff_client.post(
            reverse("visits:closure_move", args=[booked.pk]),
            {"start": at(TUESDAY, 9).isoformat(), "clinician": alice.pk},
        )
    assert response.status_code == 302
    booked.refresh_from_db()
    assert booked.start_at == at(TUESDAY, 9)
    message = VisitMessage.objects.get(visit=booked)
    assert message.kind == "moved" and message.status == "sent"
    assert closures.visits_in_closed_time(center=desk) == []
    assert (
        f'id="closure-{booked.pk}"'
        not in staff_client.get(reverse("visits-setup")).content.decode()
    )


def test_it_refuses_a_move_into_closed_time(staff_client, desk, booked, alice):
    ClosedDay.objects.create(center=desk, date=MONDAY)
    staff_client.post(
        reverse("visits:closure_move", args=[booked.pk]),
        {"start": at(MONDAY, 11).isoformat(), "clinician": alice.pk},
    )
    booked.refresh_from_db()
    assert booked.start_at == at(MONDAY, 10)


def test_it_cancels_one_with_a_reason_and_tells_the_patient(
    staff_client, desk, booked, django_capture_on_commit_callbacks
):
    ClosedDay.objects.create(center=desk, date=MONDAY)
    url = reverse("visits:closure_cancel", args=[booked.pk])
    staff_client.post(url, {"reason": ""})
    booked.refresh_from_db()
    assert booked.status == Visit.Status.BOOKED  # a reason is required
    with django_capture_on_commit_callbacks(execute=True):
        staff_client.post(url, {"reason": "Clinic closed"})
    booked.refresh_from_db()
    assert (booked.status, booked.cancel_reason) == (Visit.Status.CANCELLED, "Clinic closed")
    assert VisitMessage.objects.get(visit=booked).kind == "cancelled"


def test_it_moves_all_at_once(
    staff_client,
    desk,
    booked,
    alice,
    other_patient,
    bob,
    follow_up,
    django_capture_on_commit_callbacks,
):
    second = _visit(other_patient, bob, at(MONDAY, 11), follow_up, desk)
    ClosedDay.objects.create(center=desk, date=MONDAY)
    with django_capture_on_commit_callbacks(execute=True):
        response = staff_client.post(reverse("visits:closure_all"), {"action": "move"})
    assert response.status_code == 302
    booked.refresh_from_db()
    second.refresh_from_db()
    assert (booked.clinician, booked.start_at) == (alice, at(TUESDAY, 9))
    assert (second.clinician, second.start_at) == (bob, at(TUESDAY, 9))
    assert set(VisitMessage.objects.values_list("visit_id", "kind")) == {
        (booked.pk, "moved"),
        (second.pk, "moved"),
    }


def test_it_cancels_all_with_a_reason(staff_client, desk, booked, other_patient, bob, follow_up):
    second = _visit(other_patient, bob, at(MONDAY, 11), follow_up, desk)
    ClosedDay.objects.create(center=desk, date=MONDAY)
    staff_client.post(reverse("visits:closure_all"), {"action": "cancel", "reason": ""})
    assert Visit.objects.filter(status="booked").count() == 2
    staff_client.post(reverse("visits:closure_all"), {"action": "cancel", "reason": "Flood"})
    assert set(Visit.objects.values_list("pk", "status")) == {
        (booked.pk, "cancelled"),
        (second.pk, "cancelled"),
    }


def test_it_refuses_another_centers_visit_and_clinicians(
    client, clock, desk, booked, other_staff, alice
):
    client.force_login(other_staff)
    url = reverse("visits:closure_cancel", args=[booked.pk])
    assert client.post(url, {"reason": "x"}).status_code == 404
    client.force_login(alice)
    assert client.post(url, {"reason": "x"}).status_code == 403
    booked.refresh_from_db()
    assert booked.status == Visit.Status.BOOKED


@pytest.mark.parametrize(
    "data",
    [
        {"start": "\x00", "clinician": "1"},
        {"start": "2027-03-02T09:00", "clinician": "1"},
        {"start": "9999-12-31T23:00:00+00:00", "clinician": "9" * 400},
        {"start": "2027-03-02T09:00:00+00:00", "clinician": "x" * 100_000},
    ],
)
def test_it_answers_hostile_input_without_a_500(staff_client, desk, booked, data):
    response = staff_client.post(reverse("visits:closure_move", args=[booked.pk]), data)
    assert response.status_code in (302, 400)  # NUL is refused by the middleware: 400
    booked.refresh_from_db()
    assert booked.start_at == at(MONDAY, 10)
    assert staff_client.post(reverse("visits:closure_all"), {"action": "\x00"}).status_code < 500


def test_the_clinician_page_points_to_visits_in_leave(staff_client, desk, booked, alice):
    AvailabilityException.objects.create(clinician=alice, center=desk, date=MONDAY, kind="leave")
    page = staff_client.get(reverse("visits-setup-clinician", args=[alice.pk])).content.decode()
    assert 'id="clinician-closures"' in page


def test_the_calendar_marks_closed_days_and_leave(staff_client, desk, alice):
    ClosedDay.objects.create(center=desk, date=MONDAY, reason="Holiday")
    AvailabilityException.objects.create(clinician=alice, center=desk, date=MONDAY, kind="leave")
    page = staff_client.get(reverse("visits-calendar"), {"date": MONDAY.isoformat()})
    text = page.content.decode()
    assert "Closed: Holiday" in text and "closed-tag" in text
    assert "Alice: Leave" in text
