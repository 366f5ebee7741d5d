"""Issue #19: clinicians' booking requests on the worklist (page and API) and dismissed by
staff (audited); the booking pages open on the visit type the worklist suggests."""

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.models import AuditEvent
from tests.conftest import make_patient
from visits import services
from visits.models import BookingRequest, VisitType
from visits.services.requests import booking_request_add


@pytest.fixture
def asked(patient, alice):
    return booking_request_add(patient=patient, by=alice, reason="consultation")


def _dismiss_api(client, pk):
    return client.post(reverse("api-visits-booking-requests-dismiss", args=[pk]))


def test_the_worklist_api_lists_booking_requests_with_their_reason(client, staff, asked, patient):
    client.force_login(staff)
    data = client.get(reverse("api-visits-worklist")).json()
    (item,) = data["booking_requests"]
    assert item["id"] == asked.pk and item["patient"] == patient.pk
    assert item["reason"] == "consultation" and item["reason_text"] == "asked in a consultation"
    assert item["requested_by"] == "Alice"
    assert item["dismissed"] is False


def test_staff_dismiss_a_request_over_the_api_once_and_it_is_audited(client, staff, asked):
    client.force_login(staff)
    response = _dismiss_api(client, asked.pk)
    assert response.status_code == 200, response.content
    assert response.json()["dismissed"] is True
    asked.refresh_from_db()
    assert asked.dismissed_by == staff and asked.dismissed_at is not None
    assert AuditEvent.objects.filter(
        user=staff, patient_id=asked.patient_id, what=f"booking request {asked.pk} dismissed"
    ).exists()
    assert client.get(reverse("api-visits-worklist")).json()["booking_requests"] == []
    again = _dismiss_api(client, asked.pk)
    assert again.status_code == 409 and "no longer open" in again.json()["detail"]


def test_a_dismissal_is_refused_to_patients_other_centers_and_wrong_methods(
    client, asked, patient_user, other_staff
):
    client.force_login(patient_user)
    assert _dismiss_api(client, asked.pk).status_code == 403
    client.force_login(other_staff)
    assert _dismiss_api(client, asked.pk).status_code == 404
    assert _dismiss_api(client, 10**15).status_code == 404
    assert _dismiss_api(client, 10**400).status_code in (400, 404)
    assert (
        client.get(reverse("api-visits-booking-requests-dismiss", args=[asked.pk])).status_code
        == 405
    )
    assert client.post("/api/v1/visits/booking-requests/1%00/dismiss/").status_code in (400, 404)
    asked.refresh_from_db()
    assert asked.dismissed_at is None


def test_staff_dismiss_a_request_from_the_worklist_page(client, staff, asked):
    client.force_login(staff)
    page = client.get(reverse("visits-worklist")).content.decode()
    assert "asked in a consultation" in page
    assert reverse("visits-booking-request-dismiss", args=[asked.pk]) in page
    response = client.post(reverse("visits-booking-request-dismiss", args=[asked.pk]))
    assert response.status_code == 302
    asked.refresh_from_db()
    assert asked.dismissed_by == staff
    page = client.get(reverse("visits-worklist")).content.decode()
    assert f'data-booking-request="{asked.pk}"' not in page
    assert client.get(reverse("visits-booking-request-dismiss", args=[asked.pk])).status_code == 405


def test_the_dismiss_page_refuses_patients_and_other_centers(
    client, asked, patient_user, other_staff
):
    url = reverse("visits-booking-request-dismiss", args=[asked.pk])
    client.force_login(patient_user)
    assert client.post(url).status_code == 403
    client.force_login(other_staff)
    assert client.post(url).status_code == 404
    assert BookingRequest.objects.get(pk=asked.pk).dismissed_at is None


# --- The booking pages open on the suggested type ------------------------------------------


@pytest.fixture
def annual(follow_up):
    VisitType.objects.create(code="urgent", name="Urgent review", duration_minutes=20)
    return VisitType.objects.create(
        code="annual_review",
        name="Annual review (eyes, kidneys, feet)",
        duration_minutes=60,
        patient_bookable=True,
    )


def _overdue(plan):
    from care_plans.models import CarePlanVersion

    CarePlanVersion.objects.filter(pk=plan.pk).update(
        created_at=timezone.now() - dt.timedelta(days=100)
    )


def test_the_staff_booking_page_opens_on_the_suggested_type(client, staff, patient, plan, annual):
    _overdue(plan)  # eye, kidney and foot checks have never been done
    (row,) = services.worklist(user=staff)
    assert row.visit_type == annual
    client.force_login(staff)
    response = client.get(reverse("visits-book"), {"patient": patient.pk})
    assert response.status_code == 200
    assert response.context["visit_type"] == annual
    # A type chosen explicitly still wins.
    follow_up = VisitType.objects.get(code="follow_up")
    chosen = client.get(reverse("visits-book"), {"patient": patient.pk, "visit_type": follow_up.pk})
    assert chosen.context["visit_type"] == follow_up


def test_the_patients_booking_page_opens_on_the_suggested_type(
    client, patient_user, patient, plan, annual
):
    _overdue(plan)
    client.force_login(patient_user)
    response = client.get(reverse("visits:self_book"))
    assert response.status_code == 200
    assert response.context["visit_type"] == annual


def test_a_patient_not_due_gets_the_follow_up(client, staff, center, alice, annual):
    fresh = make_patient("MRN-FRESH", center=center, endocrinologists=[alice])
    client.force_login(staff)
    response = client.get(reverse("visits-book"), {"patient": fresh.pk})
    assert response.context["visit_type"].code == "follow_up"
