"""Throttles: anonymous clients, people and device tokens each have their own budget."""

import hashlib

import pytest
from django.core.cache import cache
from django.test import override_settings
from django.urls import reverse

from readings.models import DeviceToken
from readings.services import nightscout_link_ensure

RATES = {
    "anonymous": "3/minute",
    "person": "4/minute",
    "device": "2/minute",
    "nightscout-auth-failure": "3/minute",
}


@pytest.fixture(autouse=True)
def fresh_counters():
    cache.clear()
    yield
    cache.clear()


@override_settings(THROTTLE_RATES=RATES)
def test_it_throttles_anonymous_api_clients(client, db):
    answers = [client.get(reverse("api-patients-list")).status_code for _ in range(5)]
    assert 429 not in answers[:3] and answers[3:] == [429, 429]
    assert client.get(reverse("api-patients-list"), REMOTE_ADDR="192.0.2.8").status_code != 429


@override_settings(THROTTLE_RATES=RATES)
def test_it_throttles_each_person_separately(client, alice, bob):
    client.force_login(alice)
    answers = [client.get(reverse("api-patients-list")).status_code for _ in range(5)]
    assert answers == [200] * 4 + [429]
    assert "detail" in client.get(reverse("api-patients-list")).json()
    client.force_login(bob)
    assert client.get(reverse("api-patients-list")).status_code == 200


@override_settings(THROTTLE_RATES=RATES)
def test_it_throttles_each_device_token_separately(client, patient, other_patient):
    _, key = DeviceToken.issue(patient=patient, name="phone")
    _, other = DeviceToken.issue(patient=other_patient, name="phone")
    url = reverse("api-patients-readings", args=[patient.pk])
    body = {"readings": []}

    def post(key):
        headers = {"HTTP_AUTHORIZATION": f"Token {key}"}
        return client.post(url, body, content_type="application/json", **headers).status_code

    assert [post(key) for _ in range(3)][2] == 429
    other_url = reverse("api-patients-readings", args=[other_patient.pk])
    response = client.post(
        other_url, body, content_type="application/json", HTTP_AUTHORIZATION=f"Token {other}"
    )
    assert response.status_code != 429


@override_settings(THROTTLE_RATES=RATES)
def test_it_throttles_nightscout_secret_guessing(client, patient):
    link = nightscout_link_ensure(patient=patient)
    right = hashlib.sha1(link.api_secret.encode()).hexdigest()
    url = f"/ns/{link.key}/api/v1/entries.json"
    guesses = [client.get(url, HTTP_API_SECRET=f"{n:040x}").status_code for n in range(3)]
    assert guesses == [401, 401, 401]
    # Locked for now, even with the right secret: the guesser cannot tell it was right.
    assert client.get(url, HTTP_API_SECRET=right).status_code == 429
    assert client.get(url, HTTP_API_SECRET=right, REMOTE_ADDR="192.0.2.4").status_code == 200
