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
    assert response.status_code == 409  # the first acceptor has it
    assert "already taken" in response.json()["detail"]
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
    # A patient joins only for themself, and only for the types patients book.
    assert _wait(client, other_patient, {"visit_type": follow_up.pk}).status_code == 404
    response = _wait(client, patient, {"visit_type": follow_up.pk})
    assert response.status_code == 400 and "booked by your care center" in response.content.decode()
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


# --- Offers go out as messages; the pages join, leave and take ------------------------------


def test_each_waiting_patient_gets_the_offer_in_their_language_once(
    staff, cancelled, other_patient, center, alice, follow_up, django_capture_on_commit_callbacks
):
    from django.core import mail

    other_patient.email, other_patient.language = "otto@example.org", "zh-hans"
    other_patient.phone = "+44 7700 900999"
    other_patient.save()
    english = make_patient("MRN003", center=center, endocrinologists=[alice])
    english.email = "eve@example.org"
    english.save()
    for waiting in (other_patient, english):
        services.waitlist_add(patient=waiting, visit_type=follow_up, by=staff)
    with django_capture_on_commit_callbacks(execute=True):
        services.visit_cancel(visit=cancelled, by=staff, reason="Travelling")
    by_address = {m.to[0]: m for m in mail.outbox}
    assert set(by_address) == {"otto@example.org", "eve@example.org"}
    assert "空出" in by_address["otto@example.org"].subject
    assert "has become free" in by_address["eve@example.org"].body
    offer = WaitlistOffer.objects.get(entry__patient=other_patient)
    assert offer.sent_at is not None and offer.channels == "in_app,email,sms"
    assert "提前就诊" in offer.text
    # A second delivery (a redelivered task) sends nothing more.
    assert services.waitlist_offer_deliver(offer_id=offer.pk) == "done"
    assert len(mail.outbox) == 2


def test_a_patient_joins_on_their_page_and_takes_an_offer_a_second_reads_already_taken(
    client, staff, cancelled, patient, other_patient, other_patient_user, center, alice, follow_up
):
    follow_up.patient_bookable = True
    follow_up.save()
    third_user = make_user("tess", "patient", center)
    third = make_patient("MRN003", center=center, endocrinologists=[alice], user=third_user)
    client.force_login(third_user)
    page = client.get(reverse("visits:self_book")).content.decode()
    assert 'id="waitlist"' in page and "Join the waiting list" in page
    response = client.post(
        reverse("visits:waitlist_join"), {"visit_type": follow_up.pk, "clinician": alice.pk}
    )
    assert response.status_code == 302
    assert WaitlistEntry.objects.get(patient=third, active=True).clinician == alice
    # Someone else's id is refused; a garbage type is a clear message, not an error.
    assert (
        client.post(
            reverse("visits:waitlist_join"),
            {"patient": other_patient.pk, "visit_type": follow_up.pk},
        ).status_code
        == 404
    )
    nul = client.post(reverse("visits:waitlist_join"), {"visit_type": "1\x00"})
    assert nul.status_code == 400
    for garbage in ("abc", str(10**400), "-1"):
        response = client.post(
            reverse("visits:waitlist_join"), {"visit_type": garbage}, follow=True
        )
        assert "Choose a type of visit." in response.content.decode()
    response = client.post(
        reverse("visits:waitlist_join"),
        {"visit_type": follow_up.pk, "clinician": str(10**400)},
        follow=True,
    )
    assert "does not take this type" in response.content.decode()
    # Staff put the other patient on the list from the staff booking page.
    client.force_login(staff)
    page = client.get(reverse("visits-book"), {"patient": other_patient.pk}).content.decode()
    assert 'id="waitlist"' in page
    response = client.post(
        reverse("visits:waitlist_join"), {"patient": other_patient.pk, "visit_type": follow_up.pk}
    )
    assert response.status_code == 302
    assert WaitlistEntry.objects.filter(patient=other_patient, active=True).exists()

    services.visit_cancel(visit=cancelled, by=staff, reason="Travelling")
    mine = WaitlistOffer.objects.get(entry__patient=third)
    theirs = WaitlistOffer.objects.get(entry__patient=other_patient)
    client.force_login(third_user)
    page = client.get(reverse("visits:self_book")).content.decode()
    assert f'data-offer="{mine.pk}"' in page and "Take this time" in page
    home = client.get(reverse("home")).content.decode()  # the in-app copy, on their home page
    assert f'data-offer="{mine.pk}"' in home and "An earlier visit is free" in home
    # Another patient's offer is not theirs to take.
    assert client.post(reverse("visits:waitlist_accept", args=[theirs.pk])).status_code == 404
    response = client.post(reverse("visits:waitlist_accept", args=[mine.pk]), follow=True)
    assert "The visit is booked." in response.content.decode()
    assert Visit.objects.get(patient=third, status="booked").start_at == cancelled.start_at

    client.force_login(other_patient_user)
    response = client.post(reverse("visits:waitlist_accept", args=[theirs.pk]), follow=True)
    assert "already taken" in response.content.decode()
    assert not Visit.objects.filter(patient=other_patient, status="booked").exists()
    assert client.get(reverse("visits:waitlist_accept", args=[theirs.pk])).status_code == 405


def test_a_patient_leaves_the_waiting_list(
    client, patient, patient_user, other_patient, follow_up, staff
):
    follow_up.patient_bookable = True
    follow_up.save()
    mine = services.waitlist_add(patient=patient, visit_type=follow_up, by=patient_user)
    theirs = services.waitlist_add(patient=other_patient, visit_type=follow_up, by=staff)
    client.force_login(patient_user)
    assert client.post(reverse("visits:waitlist_leave", args=[theirs.pk])).status_code == 404
    assert client.post(reverse("visits:waitlist_leave", args=[mine.pk])).status_code == 302
    mine.refresh_from_db()
    theirs.refresh_from_db()
    assert not mine.active and theirs.active


def test_a_patient_joins_over_the_api_for_their_care_team_only(
    client, patient, patient_user, alice, bob, follow_up
):
    follow_up.patient_bookable = True
    follow_up.save()
    client.force_login(patient_user)
    off_team = _wait(client, patient, {"visit_type": follow_up.pk, "clinician": bob.pk})
    assert off_team.status_code == 400 and "does not take" in off_team.json()["detail"]
    for garbage in ({"visit_type": follow_up.pk, "clinician": 10**400}, {"visit_type": "\x00"}):
        assert _wait(client, patient, garbage).status_code == 400
    mine = _wait(client, patient, {"visit_type": follow_up.pk, "clinician": alice.pk})
    assert mine.status_code == 201, mine.content
    assert mine.json()["clinician"] == alice.pk
    listed = client.get(reverse("api-patients-waitlist", args=[patient.pk])).json()
    assert [e["id"] for e in listed] == [mine.json()["id"]]
    assert client.delete(reverse("api-patients-waitlist", args=[patient.pk])).status_code == 405
