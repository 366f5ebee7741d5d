"""The visits API: book (201), conflict (409 with the next free slots), lists, slots, actions,
and who may do what."""

import datetime as dt

import pytest
from django.urls import reverse

from tests.conftest import make_patient, make_user
from tests.visits.conftest import at
from visits.models import Visit


def book(client, patient, clinician, visit_type, start):
    body = {
        "patient": patient.pk,
        "clinician": clinician.pk,
        "visit_type": visit_type.pk,
        "start": start.isoformat(),
    }
    return client.post(reverse("api-visits-list"), body, content_type="application/json")


def test_it_books_a_visit(client, staff, clinic, patient, alice, follow_up, monday):
    client.force_login(staff)
    response = book(client, patient, alice, follow_up, at(monday, 10))
    assert response.status_code == 201, response.content
    data = response.json()
    assert data["patient"] == patient.pk and data["status"] == "booked"
    assert dt.datetime.fromisoformat(data["start"]) == at(monday, 10)
    assert dt.datetime.fromisoformat(data["end"]) == at(monday, 10, 30)


def test_it_answers_409_with_the_next_free_slots(
    client, staff, clinic, patient, other_patient, alice, follow_up, monday
):
    client.force_login(staff)
    assert book(client, patient, alice, follow_up, at(monday, 10)).status_code == 201
    response = book(client, other_patient, alice, follow_up, at(monday, 10))
    assert response.status_code == 409
    data = response.json()
    assert data["detail"] and data["conflict"] in ("clinician", "room")
    assert dt.datetime.fromisoformat(data["next_free"][0]["start"]) == at(monday, 10, 30)
    assert Visit.objects.count() == 1


@pytest.mark.parametrize(
    "body, reason",
    [
        ({}, "patient"),
        ({"patient": "x", "clinician": 1, "visit_type": 1, "start": "2030-01-01T10:00Z"}, ""),
        ({"patient": 0, "clinician": 1, "visit_type": 1, "start": "not a time"}, "start"),
    ],
)
def test_it_answers_bad_input_with_400(client, staff, body, reason):
    client.force_login(staff)
    response = client.post(reverse("api-visits-list"), body, content_type="application/json")
    assert response.status_code == 400
    assert "detail" in response.json() and reason in str(response.json())


def test_it_refuses_a_time_outside_availability_with_400(
    client, staff, clinic, patient, alice, follow_up, monday
):
    client.force_login(staff)
    response = book(client, patient, alice, follow_up, at(monday, 7))
    assert response.status_code == 400
    assert "not available" in response.json()["detail"]


def test_it_refuses_outsiders(client, other_staff, clinic, patient, alice, follow_up, monday):
    client.force_login(other_staff)
    response = book(client, patient, alice, follow_up, at(monday, 10))
    assert response.status_code == 400 and Visit.objects.count() == 0
    assert client.get(reverse("api-patients-visits", args=[patient.pk])).status_code == 404


def test_it_refuses_anonymous(client, db):  # the refusal itself is audited
    assert client.get(reverse("api-visits-list")).status_code in (401, 403)


def test_it_lets_patients_book_only_the_types_patients_may_book(
    client, patient_user, clinic, patient, alice, follow_up, monday
):
    """Issue #19 §7: patients book for themselves, but not a type their center books."""
    client.force_login(patient_user)
    response = book(client, patient, alice, follow_up, at(monday, 10))
    assert response.status_code == 400
    assert "booked by your care center" in response.json()["detail"]
    assert client.get(reverse("api-visits-list")).json()["results"] == []


def test_it_lists_a_patients_visits_for_the_patient_only(
    client, staff, patient_user, other_patient_user, clinic, patient, alice, follow_up, monday
):
    client.force_login(staff)
    book(client, patient, alice, follow_up, at(monday, 10))
    client.force_login(patient_user)
    rows = client.get(reverse("api-patients-visits", args=[patient.pk])).json()["results"]
    assert [r["visit_type_name"] for r in rows] == ["Follow-up"]
    assert "hba1c_percent" not in rows[0]
    client.force_login(other_patient_user)
    assert client.get(reverse("api-patients-visits", args=[patient.pk])).status_code == 404


def test_it_lists_free_slots(client, staff, clinic, alice, follow_up, monday):
    client.force_login(staff)
    url = reverse("api-visits-slots")
    response = client.get(
        url, {"clinician": alice.pk, "visit_type": follow_up.pk, "date": monday.isoformat()}
    )
    assert response.status_code == 200
    slots = response.json()
    assert len(slots) == 31 and dt.datetime.fromisoformat(slots[0]["start"]) == at(monday, 9)
    first_available = client.get(url, {"visit_type": follow_up.pk, "date": monday.isoformat()})
    assert first_available.json() == slots  # Alice is the only endocrinologist with hours
    bad = client.get(url, {"visit_type": follow_up.pk, "date": "yesterday"})
    assert bad.status_code == 400 and "detail" in bad.json()


def test_it_lists_clinicians_and_visit_types(
    client, staff, alice, bob, nurse, follow_up, education
):
    client.force_login(staff)
    names = [c["name"] for c in client.get(reverse("api-clinicians-list")).json()]
    assert set(names) == {"Alice", "Bob", "Nina"}
    nurses = client.get(reverse("api-clinicians-list"), {"visit_type": education.pk}).json()
    assert [c["role"] for c in nurses] == ["nurse"]
    types = client.get(reverse("api-visit-types-list")).json()
    assert {t["code"]: t["roles"] for t in types} == {
        "follow_up": ["endocrinologist"],
        "education": ["nurse"],
    }


def test_it_cancels_and_reschedules(client, staff, clinic, patient, alice, follow_up, monday):
    client.force_login(staff)
    visit_id = book(client, patient, alice, follow_up, at(monday, 10)).json()["id"]
    moved = client.post(
        reverse("api-visits-reschedule", args=[visit_id]),
        {"start": at(monday, 14).isoformat()},
        content_type="application/json",
    )
    assert moved.status_code == 200
    assert dt.datetime.fromisoformat(moved.json()["start"]) == at(monday, 14)
    no_reason = client.post(
        reverse("api-visits-cancel", args=[visit_id]), {}, content_type="application/json"
    )
    assert no_reason.status_code == 400
    cancelled = client.post(
        reverse("api-visits-cancel", args=[visit_id]),
        {"reason": "Travelling"},
        content_type="application/json",
    )
    assert cancelled.json()["status"] == "cancelled"


def test_it_keeps_results_to_clinicians(client, staff, alice, clinic, patient, follow_up):
    from django.utils import timezone

    start = timezone.now() - dt.timedelta(minutes=10)
    visit = Visit.objects.create(
        patient=patient,
        clinician=alice,
        visit_type=follow_up,
        center=clinic,
        start_at=start,
        end_at=start + dt.timedelta(minutes=30),
    )
    url = reverse("api-visits-complete", args=[visit.pk])
    client.force_login(staff)
    refused = client.post(url, {"hba1c_percent": "7.1"}, content_type="application/json")
    assert refused.status_code == 403
    client.force_login(alice)
    done = client.post(
        url, {"checks_done": ["hba1c"], "hba1c_percent": "7.1"}, content_type="application/json"
    )
    assert done.status_code == 200 and done.json()["status"] == "completed"
    assert str(Visit.objects.get(pk=visit.pk).completion.hba1c_percent) == "7.1"


def test_it_keeps_results_to_the_patients_clinical_team_on_page_and_api(
    client, bob, alice, clinic, patient, follow_up
):
    """Bob sees a visit booked with him, but Alice's patient is not his: he records which
    checks were done, never results (issue #18: the API took them, the page dropped them)."""
    from django.utils import timezone

    start = timezone.now() - dt.timedelta(minutes=10)
    visits = [
        Visit.objects.create(
            patient=patient,
            clinician=bob,
            visit_type=follow_up,
            center=clinic,
            start_at=start + dt.timedelta(hours=hour),
            end_at=start + dt.timedelta(hours=hour, minutes=30),
        )
        for hour in (-2, -1)
    ]
    results = {"checks_done": ["hba1c"], "hba1c_percent": "7.1", "eyes": "normal"}
    client.force_login(bob)
    refused = client.post(
        reverse("api-visits-complete", args=[visits[0].pk]),
        results,
        content_type="application/json",
    )
    assert refused.status_code == 403
    assert Visit.objects.get(pk=visits[0].pk).status == "booked"
    checks_only = client.post(
        reverse("api-visits-complete", args=[visits[0].pk]),
        {"checks_done": ["hba1c"]},
        content_type="application/json",
    )
    assert checks_only.status_code == 200
    client.post(reverse("visits-action", args=[visits[1].pk, "complete"]), results)
    completion = Visit.objects.get(pk=visits[1].pk).completion
    assert completion.checks_done == ["hba1c"] and completion.hba1c_percent is None
    assert completion.eyes == ""


def test_it_gives_nurses_staff_access_only(client, nurse, patient):
    """A nurse schedules the center's patients but sees no clinical data."""
    client.force_login(nurse)
    assert client.get(reverse("api-patients-visits", args=[patient.pk])).status_code == 200
    assert client.get(reverse("api-patients-metrics", args=[patient.pk])).status_code == 404
    assert client.get(reverse("api-patients-care-plan", args=[patient.pk])).status_code == 404


def test_it_keeps_a_dietitian_of_another_center_out(client, other_center, patient):
    dietitian = make_user("dee", "dietitian", other_center)
    client.force_login(dietitian)
    assert client.get(reverse("api-patients-visits", args=[patient.pk])).status_code == 404
    make_patient("MRNX", center=other_center)
    assert client.get(reverse("api-visits-list")).json()["results"] == []


@pytest.mark.parametrize(
    "query",
    [
        "date=9999-12-31&days=31",  # past the calendar: the search would overflow
        "date={monday}&patient=abc",
        "date={monday}&patient=99999999999999999999999",
    ],
)
def test_it_answers_garbage_slot_searches_with_4xx(client, staff, clinic, follow_up, monday, query):
    client.force_login(staff)
    query = query.format(monday=monday)
    response = client.get(f"/api/v1/visits/slots/?visit_type={follow_up.pk}&{query}")
    assert response.status_code in (400, 404) and "detail" in response.json()


def test_it_refuses_an_unknown_status_filter(client, staff, clinic):
    client.force_login(staff)
    response = client.get("/api/v1/visits/", {"status": "nope"})
    assert response.status_code == 400 and "status must be one of" in response.json()["detail"]
    assert client.get("/api/v1/visits/", {"status": "\x00"}).status_code == 400  # NUL: at the door


def test_it_refuses_a_booking_beyond_the_horizon(client, staff, clinic, patient, alice, follow_up):
    client.force_login(staff)
    response = book(
        client, patient, alice, follow_up, dt.datetime(9999, 12, 31, 23, 50, tzinfo=dt.UTC)
    )
    assert response.status_code == 400
    assert "two years ahead" in response.json()["detail"]
