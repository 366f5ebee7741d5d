"""Routing, escalation and sending (issue #20 §3, §6), with the database: in service hours the
care team is told; out of hours the on-call clinician of the rota (who then sees the alert);
with nobody on call the alert waits for the opening; unacknowledged it escalates to the rota,
then the lead, and never after an acknowledgement; each notification is sent once, by e-mail
and SMS, in the recipient's language."""

import datetime as dt

import pytest
import time_machine
from django.core import mail

from monitoring.models import Alert, AlertContact, AlertNotification, CenterLead, OnCallShift
from monitoring.services import (
    alert_acknowledge,
    alert_deliver,
    alerts_tick,
    notification_send,
    patient_mute,
)
from tests.conftest import make_user
from visits.models import OpeningHours

pytestmark = pytest.mark.django_db

MONDAY_10 = dt.datetime(2027, 1, 18, 10, 0, tzinfo=dt.UTC)  # London is on GMT in January
MONDAY_20 = dt.datetime(2027, 1, 18, 20, 0, tzinfo=dt.UTC)
TUESDAY_08 = dt.datetime(2027, 1, 19, 8, 0, tzinfo=dt.UTC)
SENT_SMS = []


class RecordingSms:
    def send(self, to, text):
        SENT_SMS.append((to, text))


@pytest.fixture
def clinic(center, alice, settings):
    settings.VISIT_SMS_BACKEND = "tests.monitoring.test_delivery.RecordingSms"
    SENT_SMS.clear()
    for day in range(5):
        OpeningHours.objects.create(
            center=center, weekday=day, opens=dt.time(8), closes=dt.time(18)
        )
    carol = make_user("carol", "endocrinologist", center, email="carol@example.org")
    dave = make_user("dave", "endocrinologist", center, email="dave@example.org")
    lead = make_user("lena", "endocrinologist", center, email="lena@example.org")
    CenterLead.objects.create(center=center, lead=lead)
    alice.email = "alice@example.org"
    alice.save()
    return {"carol": carol, "dave": dave, "lead": lead}


def open_alert(patient, at, kind="urgent_low"):
    alert = Alert.objects.create(
        patient=patient,
        kind=kind,
        since=at - dt.timedelta(minutes=5),
        opened_at=at,
        last_at=at,
        last_value=50,
        extreme=50,
    )
    with time_machine.travel(at, tick=False):
        alert_deliver(alert=alert, now=at)
    return alert


def told(alert):
    return sorted(
        (n.step, n.recipient.username) for n in alert.notifications.select_related("recipient")
    )


def test_it_tells_the_care_team_in_service_hours(clinic, patient, alice):
    alert = open_alert(patient, MONDAY_10)
    assert told(alert) == [(0, "alice")]
    alert.refresh_from_db()
    assert alert.delivered_at == MONDAY_10


def test_it_escalates_to_the_rota_then_the_lead_when_nobody_acknowledges(clinic, patient):
    OnCallShift.objects.create(
        center=patient.care_center,
        clinician=clinic["carol"],
        start=MONDAY_10 - dt.timedelta(hours=2),
        end=MONDAY_10 + dt.timedelta(hours=8),
    )
    alert = open_alert(patient, MONDAY_10)
    alerts_tick(now=MONDAY_10 + dt.timedelta(minutes=14))
    assert told(alert) == [(0, "alice")]
    for _ in range(2):  # run twice: the same step once
        alerts_tick(now=MONDAY_10 + dt.timedelta(minutes=15))
    assert told(alert) == [(0, "alice"), (1, "carol")]
    alert.refresh_from_db()
    assert alert.state == "escalated"
    alerts_tick(now=MONDAY_10 + dt.timedelta(minutes=30))
    assert told(alert) == [(0, "alice"), (1, "carol"), (2, "lena")]
    alerts_tick(now=MONDAY_10 + dt.timedelta(hours=3))
    assert len(told(alert)) == 3  # the chain ends with the lead


def test_it_never_escalates_after_an_acknowledgement(clinic, patient, alice):
    alert = open_alert(patient, MONDAY_10)
    with time_machine.travel(MONDAY_10 + dt.timedelta(minutes=10), tick=False):
        alert_acknowledge(alert=alert, by=alice, note="called", outcome="called_patient")
    for minutes in (15, 30, 120):
        alerts_tick(now=MONDAY_10 + dt.timedelta(minutes=minutes))
    assert told(alert) == [(0, "alice")]


def test_it_routes_out_of_hours_to_the_on_call_clinician(client, clinic, patient):
    carol = clinic["carol"]
    OnCallShift.objects.create(
        center=patient.care_center,
        clinician=carol,
        start=MONDAY_20 - dt.timedelta(hours=2),
        end=TUESDAY_08,
    )
    alert = open_alert(patient, MONDAY_20)
    assert told(alert) == [(0, "carol")]
    # Carol is not on the patient's care team, yet sees the alert she was sent.
    client.force_login(carol)
    assert client.get(f"/api/v1/alerts/{alert.pk}/").status_code == 200
    assert f"alert-{alert.pk}" in client.get("/monitoring/alerts/").content.decode()


def test_it_waits_for_the_opening_when_nobody_is_on_call(clinic, patient):
    alert = open_alert(patient, MONDAY_20)
    alert.refresh_from_db()
    assert told(alert) == [] and alert.wait_until == TUESDAY_08
    alerts_tick(now=TUESDAY_08 - dt.timedelta(minutes=1))
    assert told(alert) == []
    alerts_tick(now=TUESDAY_08)
    assert told(alert) == [(0, "alice")]
    # Escalation counts from the opening it waited for, not from the night.
    alerts_tick(now=TUESDAY_08 + dt.timedelta(minutes=14))
    assert len(told(alert)) == 1


def test_it_sends_each_notification_once_by_email_and_sms_in_the_recipients_language(
    clinic, patient, alice
):
    alice.language = "zh-hans"
    alice.unit = "mmol/L"
    alice.save()
    AlertContact.objects.create(user=alice, phone="+44 7700 900000")
    alert = open_alert(patient, MONDAY_10)
    note = AlertNotification.objects.get(alert=alert)
    mail.outbox.clear()
    SENT_SMS.clear()
    assert notification_send(notification_id=note.pk) == "sent"
    assert notification_send(notification_id=note.pk) == "busy"
    assert len(mail.outbox) == 1 and len(SENT_SMS) == 1
    assert "2.8 mmol/L" in SENT_SMS[0][1]  # 50 mg/dL in her unit
    assert "紧急低血糖" in mail.outbox[0].subject  # her language
    note.refresh_from_db()
    assert note.channels == "in_app,email,sms"


def test_it_tells_nobody_of_a_muted_kind_but_records_it(clinic, patient, alice, uploader):
    from tests.monitoring.conftest import enrol

    with time_machine.travel(MONDAY_10 - dt.timedelta(hours=1), tick=False):
        enrol(patient, alice)
        patient_mute(patient=patient, by=alice, kinds=["predicted_low"], hours=24, reason="test")
    trace = [130, 120, 110, 100, 90, 80, 70, 62]
    for i, value in enumerate(trace):
        moment = MONDAY_10 + dt.timedelta(minutes=5 * i)
        with time_machine.travel(moment + dt.timedelta(seconds=10), tick=False):
            uploader.post(moment, value)
    predicted = Alert.objects.get(kind="predicted_low")
    assert predicted.muted and told(predicted) == []
    with pytest.raises(ValueError):
        patient_mute(patient=patient, by=alice, kinds=["urgent_low"], hours=1, reason="no")
