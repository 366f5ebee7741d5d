"""Consent records and the privacy page: what a patient agreed to, when, and who sees it."""

import datetime as dt

import pytest
from django.urls import reverse

from accounts.models import AuditEvent
from patients.consent import TOPICS, consent_record
from patients.models import Consent
from readings.models import DeviceToken
from readings.parsers import Reading
from readings.services import readings_ingest
from tests.conftest import make_patient, make_user

T0 = dt.datetime(2026, 3, 1, 8, 0, tzinfo=dt.UTC)


def test_it_shows_the_patients_consent_on_their_home_page(client, patient):
    consent_record(patient=patient, topic="care", given=True, by=patient.user)
    client.force_login(patient.user)
    page = client.get(reverse("home")).content.decode()
    home_card = page.split('id="privacy"')[1]
    assert "Processing my health data for my care" in home_card
    assert "Given" in home_card and "wording version 2026-11" in home_card
    assert "Not asked yet" in home_card  # follower apps: never asked
    assert reverse("patients-export-zip", args=[patient.pk]) in home_card
    assert reverse("patients-privacy", args=[patient.pk]) in home_card


def test_it_records_giving_and_withdrawing_with_wording_time_and_author(client, patient):
    client.force_login(patient.user)
    url = reverse("patients-consent", args=[patient.pk])
    assert client.post(url, {"topic": "care", "decision": "give"}).status_code == 302
    assert client.post(url, {"topic": "care", "decision": "withdraw"}).status_code == 302
    withdrawn, given = Consent.objects.filter(patient=patient)
    assert (given.given, withdrawn.given) == (True, False)
    assert given.version == TOPICS["care"]["version"] and given.text == str(TOPICS["care"]["text"])
    assert given.by == patient.user and given.by_name == "pat" and given.at <= withdrawn.at
    page = client.get(reverse("patients-privacy", args=[patient.pk])).content.decode()
    assert 'data-consent-state="withdrawn"' in page
    assert "History of consent decisions" in page and page.count("<td>Given</td>") == 1
    with pytest.raises(PermissionError):
        given.save()  # append-only: a change of mind is a new row


def test_withdrawing_care_consent_is_shown_to_the_care_team_and_erases_nothing(
    client, patient, alice
):
    readings_ingest(
        patient=patient,
        items=[Reading(line=1, timestamp=T0, value_mg_dl=99.0, kind="cgm", device="G7")],
    )
    consent_record(patient=patient, topic="care", given=False, by=patient.user)
    client.force_login(alice)
    page = client.get(reverse("patients-detail", args=[patient.pk])).content.decode()
    assert 'id="consent-withdrawn"' in page
    assert patient.readings.count() == 1  # withdrawing is not erasing
    consent_record(patient=patient, topic="care", given=True, by=patient.user)
    page = client.get(reverse("patients-detail", args=[patient.pk])).content.decode()
    assert 'id="consent-withdrawn"' not in page


def test_withdrawing_follower_consent_revokes_read_tokens_only(client, patient):
    client.force_login(patient.user)
    response = client.post(
        reverse("readings-token-new", args=[patient.pk]),
        {"name": "Sugarmate", "scope": "read", "grant_read": "on"},
    )
    assert response.status_code == 200
    consent = Consent.current_for(patient)["follower_apps"]
    assert consent.given and consent.by == patient.user  # the ticked box is the consent
    uploader, _ = DeviceToken.issue(patient=patient, name="xDrip", scope="upload")
    client.post(
        reverse("patients-consent", args=[patient.pk]),
        {"topic": "follower_apps", "decision": "withdraw"},
    )
    reader = DeviceToken.objects.get(patient=patient, scope="read")
    uploader.refresh_from_db()
    assert reader.revoked_at is not None and uploader.revoked_at is None


def test_staff_of_the_center_see_consents_but_cannot_change_or_download(
    client, patient, staff, other_staff, other_patient
):
    consent_record(patient=patient, topic="care", given=True, by=patient.user)
    client.force_login(staff)
    response = client.get(reverse("patients-privacy", args=[patient.pk]))
    page = response.content.decode()
    assert response.status_code == 200 and 'data-consent-state="given"' in page
    assert "<form" not in page.split("<main")[1] and "export.zip" not in page
    assert AuditEvent.objects.filter(
        patient_id=patient.pk, username="sam", what="consents"
    ).exists()
    url = reverse("patients-consent", args=[patient.pk])
    assert client.post(url, {"topic": "care", "decision": "withdraw"}).status_code == 403
    client.force_login(other_staff)
    assert client.get(reverse("patients-privacy", args=[patient.pk])).status_code == 404
    client.force_login(other_patient.user)
    assert client.get(reverse("patients-privacy", args=[patient.pk])).status_code == 404
    assert client.post(url, {"topic": "care", "decision": "withdraw"}).status_code == 404
    assert Consent.objects.filter(patient=patient).count() == 1


def test_it_refuses_bad_consent_input_and_other_methods(client, patient):
    client.force_login(patient.user)
    url = reverse("patients-consent", args=[patient.pk])
    assert client.post(url, {"topic": "research", "decision": "give"}).status_code == 400
    assert client.post(url, {"topic": "care", "decision": "maybe"}).status_code == 400
    assert client.post(url, {}).status_code == 400
    assert client.get(url).status_code == 405
    assert client.post(reverse("patients-privacy", args=[patient.pk])).status_code == 405
    assert not Consent.objects.exists()


def test_anonymous_is_sent_to_sign_in(client, patient):
    for name in ("patients-privacy", "patients-export-zip", "patients-export-fhir"):
        response = client.get(reverse(name, args=[patient.pk]))
        assert response.status_code == 302 and "/accounts/login/" in response.url


def test_an_unlinked_patient_record_cannot_be_downloaded_by_a_patient(client, center):
    user = make_user("lone", "patient", center)
    unlinked = make_patient("MRN009", center=center)
    client.force_login(user)
    assert client.get(reverse("patients-export-zip", args=[unlinked.pk])).status_code == 404
