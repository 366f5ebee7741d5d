"""Monitoring test helpers: consent, enrolment, and an xDrip-shaped uploader."""

import hashlib
import json

import pytest

from monitoring.services import enrolment_set
from patients.consent import consent_record
from readings.services import nightscout_link_ensure


def enrol(patient, by, **thresholds):
    consent_record(patient=patient, topic="remote_monitoring", given=True, by=patient.user)
    return enrolment_set(patient=patient, enrolled=True, thresholds=thresholds or None, by=by)


class Uploader:
    """Posts Nightscout entries the way xDrip+ does: one ``sgv`` entry per reading, to
    ``/ns/{key}/api/v1/entries`` with the SHA-1 of the secret in ``api-secret``."""

    def __init__(self, client, patient, capture):
        self.client = client
        self.link = nightscout_link_ensure(patient=patient)
        self.capture = capture  # django_capture_on_commit_callbacks: the outbox's on-commit

    def post(self, moment, sgv):
        entry = {
            "type": "sgv",
            "sgv": sgv,
            "date": int(moment.timestamp() * 1000),
            "dateString": moment.isoformat(),
            "direction": "Flat",
            "device": "xDrip-DexcomG6",
        }
        secret = hashlib.sha1(self.link.api_secret.encode()).hexdigest()
        with self.capture(execute=True):
            response = self.client.post(
                f"/ns/{self.link.key}/api/v1/entries",
                json.dumps([entry]),
                content_type="application/json",
                HTTP_API_SECRET=secret,
            )
        assert response.status_code == 200, response.content
        return response


@pytest.fixture
def uploader(client, patient, django_capture_on_commit_callbacks):
    return Uploader(client, patient, django_capture_on_commit_callbacks)
