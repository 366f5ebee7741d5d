"""Issue #20's routes tried as an attacker would (§5 of the brief): NUL, lone surrogates,
10**400, huge strings, every method, another team's ids, as the patient, another team's
clinician, staff and the patient's own endocrinologist. No answer may be a 5xx (run it on
PostgreSQL too: NUL and numeric overflow fail only there)."""

import datetime as dt
import json

import pytest
from django.test import Client
from django.utils import timezone

from monitoring.models import Alert, OnCallShift
from tests.conftest import make_user
from tests.monitoring.conftest import enrol

pytestmark = pytest.mark.django_db

HUGE = "1" + "0" * 400
VALUES = ["\x00", "\ud800", HUGE, "-1", "[", "a" * 20000, "1e309", "nan"]
METHODS = ("get", "head", "post", "put", "patch", "delete", "options")
FIELDS = (
    "action", "outcome", "note", "minutes", "reason", "kinds", "hours", "enrolled", "thresholds",
    "topic", "given", "urgent_low", "high", "high_minutes", "no_data_hours", "part",
    "shift-clinician", "shift-start_date", "shift-start_time", "shift-end_date",
    "shift-end_time", "lead-lead",
)  # fmt: skip


def _send(client, kind: str, url: str, body: dict) -> int:
    if kind == "form":  # a form body cannot carry a lone surrogate (the browser would not)
        return client.post(url, {k: v.replace("\ud800", "?") for k, v in body.items()}).status_code
    send = client.post if kind == "json" else client.put
    return send(url, json.dumps(body), content_type="application/json").status_code


def test_no_hostile_input_is_a_server_error(patient, other_patient, alice, bob, staff, center):
    enrol(patient, alice)
    now = timezone.now()
    mine = Alert.objects.create(patient=patient, kind="urgent_low", since=now, opened_at=now)
    theirs = Alert.objects.create(patient=other_patient, kind="high", since=now, opened_at=now)
    shift = OnCallShift.objects.create(
        center=center, clinician=alice, start=now, end=now + dt.timedelta(hours=8)
    )
    stranger = make_user("sid", "endocrinologist", None)
    urls = [
        "/monitoring/alerts/",
        "/monitoring/alerts/count/",
        f"/monitoring/alerts/{mine.pk}/",
        f"/monitoring/alerts/{theirs.pk}/",
        f"/monitoring/alerts/{HUGE}/",
        f"/monitoring/patients/{patient.pk}/mute/",
        f"/monitoring/patients/{HUGE}/mute/",
        f"/patients/{patient.pk}/alerts/",
        f"/patients/{patient.pk}/alerts/monitoring/",
        f"/patients/{HUGE}/alerts/monitoring/",
        "/monitoring/rota/",
        f"/monitoring/rota/?center={HUGE}",
        "/monitoring/rota/?center=%00",
        f"/monitoring/rota/shifts/{shift.pk}/remove/",
        f"/monitoring/rota/shifts/{HUGE}/remove/",
        "/api/v1/alerts/",
        f"/api/v1/alerts/?patient={HUGE}&state=%00&kind=x",
        f"/api/v1/alerts/{mine.pk}/",
        f"/api/v1/alerts/{mine.pk}/acknowledge/",
        f"/api/v1/alerts/{HUGE}/acknowledge/",
        f"/api/v1/patients/{patient.pk}/monitoring/",
        f"/api/v1/patients/{patient.pk}/consents/",
        "/health/",
    ]
    errors = []
    for user in (patient.user, alice, bob, staff, stranger):
        client = Client(raise_request_exception=False)
        client.force_login(user)
        for url in urls:
            for method in METHODS:
                response = getattr(client, method)(url)
                if response.status_code >= 500 and url != "/health/":  # 503: no worker here
                    errors.append(f"{user} {method} {url[:60]}: {response.status_code}")
            if url == "/health/":
                continue
            for value in VALUES:
                for kind in ("json", "put", "form"):
                    status = _send(client, kind, url, {field: value for field in FIELDS})
                    if status >= 500:
                        errors.append(f"{user} {kind} {url[:60]} {value[:10]!r}: {status}")
    assert not errors, "\n".join(errors[:40])
