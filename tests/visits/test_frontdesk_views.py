"""The worklist page as a recall list (issue #19 §1): contact, outreach log, filters,
invites; outsiders refused."""

import datetime as dt

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from visits.models import OutreachAttempt


@pytest.fixture
def due(plan, patient):
    from care_plans.models import CarePlanVersion

    CarePlanVersion.objects.filter(pk=plan.pk).update(
        created_at=timezone.now() - dt.timedelta(days=100)
    )
    patient.phone, patient.email = "+44 7700 900123", "pat@example.org"
    patient.save()
    return patient


def test_it_shows_contact_and_the_last_outreach(client, staff, due, follow_up):
    client.force_login(staff)
    page = client.get(reverse("visits-worklist")).content.decode()
    assert "+44 7700 900123" in page and "pat@example.org" in page
    assert "Not contacted" in page and "English" in page
    response = client.post(
        reverse("visits-outreach", args=[due.pk]),
        {"channel": "phone", "outcome": "left_message", "note": "voicemail", "prefer": "on"},
    )
    assert response.status_code == 302
    assert response.url == reverse("visits-worklist") + f"#patient-{due.pk}"
    attempt = OutreachAttempt.objects.get()
    assert (attempt.outcome, attempt.by, attempt.note) == ("left_message", staff, "voicemail")
    page = client.get(reverse("visits-worklist")).content.decode()
    assert "Left a message" in page and "voicemail" in page
    assert client.get(reverse("visits-worklist"), {"outreach": "declined"}).context["rows"] == []
    rows = client.get(reverse("visits-worklist"), {"outreach": "left_message"}).context["rows"]
    assert [r.patient for r in rows] == [due]
    for nonsense in ("%00", "x" * 5000, "%ED%A0%80", "%FF"):  # NUL, huge, lone surrogate
        url = reverse("visits-worklist") + f"?outreach={nonsense}&sort={nonsense}"
        response = client.get(url)
        assert response.status_code in (200, 400)


def test_it_sends_an_invite_from_the_worklist(
    client, staff, due, follow_up, django_capture_on_commit_callbacks
):
    client.force_login(staff)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("visits-invite", args=[due.pk]), {"channel": ""})
    assert response.status_code == 302
    assert OutreachAttempt.objects.get().outcome == "invite_sent"
    assert len(mail.outbox) == 1 and "/visits/book/" in mail.outbox[0].body
    page = client.get(reverse("visits-worklist")).content.decode()
    assert "Booking invite sent" in page


def test_it_refuses_outreach_by_outsiders_and_patients(
    client, due, other_staff, patient_user, staff
):
    client.force_login(other_staff)
    body = {"channel": "phone", "outcome": "reached"}
    assert client.post(reverse("visits-outreach", args=[due.pk]), body).status_code == 404
    assert client.post(reverse("visits-invite", args=[due.pk])).status_code == 404
    client.force_login(patient_user)
    assert client.post(reverse("visits-outreach", args=[due.pk]), body).status_code == 403
    client.force_login(staff)
    assert client.get(reverse("visits-outreach", args=[due.pk])).status_code == 405
    bad = {"channel": "phone", "outcome": "reached", "retry_on": "99999-01-01"}
    assert client.post(reverse("visits-outreach", args=[due.pk]), bad).status_code == 302
    assert not OutreachAttempt.objects.exists()


def test_the_patient_reads_an_in_app_invite_on_their_home_page(
    client, staff, due, patient_user, follow_up
):
    client.force_login(patient_user)
    assert "booking-invite" not in client.get("/").content.decode()
    client.force_login(staff)
    client.post(reverse("visits-invite", args=[due.pk]), {"channel": "in_app"})
    assert OutreachAttempt.objects.get().channel == "in_app"
    client.force_login(patient_user)
    page = client.get("/").content.decode()
    assert 'id="booking-invite"' in page and "/visits/book/" in page
