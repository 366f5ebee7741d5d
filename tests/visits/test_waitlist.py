"""The waiting list (issue #19 §5): a cancelled time is offered to those waiting for that
visit type (that clinician, or any); the first to accept gets it under the database's rules."""

import pytest
from django.urls import reverse

from tests.conftest import make_patient, make_user
from tests.visits.conftest import at
from visits import services
from visits.models import Visit, WaitlistEntry, WaitlistOffer


@pytest.fixture
def cancelled(clinic, patient, alice, follow_up, monday, staff):
    visit = services.visit_book(
        patient=patient, clinician=alice, visit_type=follow_up, start=at(monday, 10), by=staff
    )
    return visit


def _wait(client, patient, body):
    url = reverse("api-patients-waitlist", args=[patient.pk])
    return client.post(url, body, content_type="application/json")


def test_a_cancelled_time_goes_to_the_first_who_accepts(
    client,
    staff,
    cancelled,
    patient,
    other_patient,
    center,
    alice,
    bob,
    follow_up,
    other_patient_user,
):
    third_user = make_user("tess", "patient", center)
    third = make_patient("MRN003", center=center, endocrinologists=[alice], user=third_user)
    client.force_login(staff)
    assert _wait(client, other_patient, {"visit_type": follow_up.pk}).status_code == 201
    assert _wait(client, other_patient, {"visit_type": follow_up.pk}).status_code == 400
    assert (
        _wait(client, third, {"visit_type": follow_up.pk, "clinician": alice.pk}).status_code == 201
    )
    services.waitlist_add(patient=patient, visit_type=follow_up, by=staff)  # its own patient
    services.visit_cancel(visit=cancelled, by=staff, reason="Travelling")
    offers = WaitlistOffer.objects.order_by("pk")
    assert [o.entry.patient for o in offers] == [other_patient, third]
    assert all(o.start_at == cancelled.start_at and o.clinician == alice for o in offers)

    client.force_login(other_patient_user)  # the patient sees and takes their own offer
    (mine,) = client.get(reverse("api-waitlist-offers")).json()
    response = client.post(reverse("api-waitlist-offers-accept", args=[mine["id"]]))
    assert response.status_code == 201, response.content
    visit = Visit.objects.get(pk=response.json()["id"])
    assert visit.patient == other_patient and visit.start_at == cancelled.start_at
    theirs = offers.get(entry__patient=third)
    assert theirs.status == "taken"
    client.force_login(third_user)
    assert client.get(reverse("api-waitlist-offers")).json() == []
    response = client.post(reverse("api-waitlist-offers-accept", args=[theirs.pk]))
    assert response.status_code == 400  # no longer open
    assert not WaitlistEntry.objects.get(patient=other_patient).active


def test_two_who_accept_at_once_cannot_both_have_it(
    staff, cancelled, patient, other_patient, center, alice, follow_up
):
    third = make_patient("MRN003", center=center, endocrinologists=[alice])
    for waiting in (other_patient, third):
        services.waitlist_add(patient=waiting, visit_type=follow_up, by=staff)
    services.visit_cancel(visit=cancelled, by=staff, reason="Travelling")
    first, second = WaitlistOffer.objects.order_by("pk")
    services.waitlist_accept(offer=first, by=staff)
    # The second was read before the first's acceptance marked it taken: the database says no.
    second.status = "open"
    with pytest.raises(services.SlotTaken):
        services.waitlist_accept(offer=second, by=staff)
    assert Visit.objects.filter(start_at=cancelled.start_at, status="booked").count() == 1


def test_the_waiting_list_is_refused_to_outsiders(
    client,
    patient,
    other_staff,
    patient_user,
    other_patient_user,
    follow_up,
    staff,
    alice,
    cancelled,
    other_patient,
):
    client.force_login(other_staff)
    assert _wait(client, patient, {"visit_type": follow_up.pk}).status_code == 404
    client.force_login(patient_user)
    assert _wait(client, patient, {"visit_type": follow_up.pk}).status_code == 403
    services.waitlist_add(patient=other_patient, visit_type=follow_up, by=staff)
    services.visit_cancel(visit=cancelled, by=staff, reason="x")
    offer = WaitlistOffer.objects.get()
    for outsider in (patient_user, other_staff):
        client.force_login(outsider)
        response = client.post(reverse("api-waitlist-offers-accept", args=[offer.pk]))
        assert response.status_code == 404
    client.force_login(staff)
    for body in ({"visit_type": 10**30}, {"visit_type": "x"}, {"visit_type": 999999}, {}):
        assert _wait(client, patient, body).status_code == 400


def test_a_time_on_a_closed_day_is_not_offered(staff, cancelled, other_patient, follow_up):
    from visits.models import ClosedDay

    services.waitlist_add(patient=other_patient, visit_type=follow_up, by=staff)
    ClosedDay.objects.create(center=cancelled.center, date=cancelled.start_at.date(), reason="x")
    services.visit_cancel(visit=cancelled, by=staff, reason="The clinic is closed")
    assert not WaitlistOffer.objects.exists()
