"""Monitoring in the pipeline's own watch (issue #20 §5): the on-call clinician is told when
alerting is degraded, and /metrics counts alerts opened, open and escalated."""

import datetime as dt

from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families

from monitoring.models import Alert, AlertNotification, OnCallShift
from outbox.health import notice_recipients


def test_the_clinician_on_call_now_is_told_that_alerting_is_degraded(center, alice, bob):
    now = timezone.now()
    for person in (alice, bob):
        person.email = f"{person.username}@example.org"
        person.save()
    OnCallShift.objects.create(
        center=center,
        clinician=alice,
        start=now - dt.timedelta(hours=1),
        end=now + dt.timedelta(hours=1),
    )
    OnCallShift.objects.create(  # a shift that is over
        center=center,
        clinician=bob,
        start=now - dt.timedelta(hours=3),
        end=now - dt.timedelta(hours=1),
    )
    told = notice_recipients(now)
    assert alice in told and bob not in told


def test_metrics_count_alerts_opened_open_and_escalated(client, admin_user, patient, alice):
    now = timezone.now()

    def alert(kind, state, live=True, minutes=0):
        return Alert.objects.create(
            patient=patient,
            kind=kind,
            state=state,
            live=live,
            since=now - dt.timedelta(minutes=60 + minutes),
            opened_at=now - dt.timedelta(minutes=60 + minutes),
            closed_at=now - dt.timedelta(minutes=minutes) if state == "closed" else None,
        )

    urgent = alert("urgent_low", "escalated")
    alert("urgent_low", "closed", minutes=600)
    alert("high", "open")
    alert("high", "closed", live=False, minutes=9000)  # a past episode from a back-filled file
    AlertNotification.objects.create(alert=urgent, recipient=alice, step=0)
    AlertNotification.objects.create(alert=urgent, recipient=admin_user, step=1)
    client.force_login(admin_user)
    response = client.get("/metrics")
    assert response.status_code == 200
    families = {f.name: f for f in text_string_to_metric_families(response.content.decode())}

    def by_kind(name):
        return {s.labels["kind"]: s.value for s in families[name].samples if "kind" in s.labels}

    assert by_kind("diabetes_alerts_opened") == {"urgent_low": 2, "high": 1}
    assert by_kind("diabetes_alerts_open") == {"urgent_low": 1, "high": 1}
    assert [
        s.value for s in families["diabetes_alert_escalations"].samples if s.name.endswith("_total")
    ] == [1]
