"""Reminder and day-list tasks (eager): once per visit and kind, in the patient's language,
never stale after a move or a cancellation, safe to run twice."""

import datetime as dt
import zoneinfo

import pytest
from django.core import mail
from django.utils import timezone

from visits import services, tasks
from visits.models import DayListSent, Visit, VisitMessage

pytestmark = pytest.mark.django_db(transaction=True)  # messages are sent on commit


@pytest.fixture
def soon(clinic, patient, alice, follow_up):
    """A visit in three hours (inside the 24-hour reminder lead time)."""
    patient.email = "pat@example.org"
    patient.phone = "+44 7700 900123"
    patient.save()
    start = timezone.now().replace(microsecond=0) + dt.timedelta(hours=3)
    return Visit.objects.create(
        patient=patient,
        clinician=alice,
        visit_type=follow_up,
        center=clinic,
        start_at=start,
        end_at=start + dt.timedelta(minutes=30),
    )


def test_it_reminds_once_when_run_twice(soon, capsys):
    assert tasks.enqueue_visit_reminders() == 1
    assert tasks.enqueue_visit_reminders() == 0
    tasks.send_visit_message(soon.pk, "reminder", soon.start_at.isoformat())  # a redelivery
    message = VisitMessage.objects.get()
    assert message.status == "sent" and message.channels == "in_app,email,sms"
    assert len(mail.outbox) == 1 and "Reminder" in mail.outbox[0].body
    assert capsys.readouterr().out.count("SMS to +44 7700 900123") == 1


def test_it_leaves_visits_beyond_the_lead_time(soon, settings):
    settings.VISIT_REMINDER_HOURS = 2
    assert tasks.enqueue_visit_reminders() == 0


def test_it_writes_in_the_patients_language(soon, patient):
    patient.language = "zh-hans"
    patient.save()
    tasks.enqueue_visit_reminders()
    assert "提醒" in VisitMessage.objects.get().text


def test_it_never_sends_a_stale_reminder_after_a_move(soon, staff):
    stale_start = soon.start_at.isoformat()
    Visit.objects.filter(pk=soon.pk).update(
        start_at=soon.start_at + dt.timedelta(days=2),
        end_at=soon.end_at + dt.timedelta(days=2),
    )
    assert tasks.send_visit_message(soon.pk, "reminder", stale_start) == "skipped"
    assert mail.outbox == []


def test_it_tells_the_patient_about_a_move_and_a_cancellation(
    clinic, patient, alice, follow_up, monday, staff
):
    from tests.visits.conftest import at

    patient.email = "pat@example.org"
    patient.save()
    visit = services.visit_book(
        patient=patient, clinician=alice, visit_type=follow_up, start=at(monday, 10), by=staff
    )
    services.visit_reschedule(visit=visit, start=at(monday, 11), by=staff)
    services.visit_cancel(visit=visit, by=staff, reason="Clinic closed")
    kinds = dict(VisitMessage.objects.values_list("kind", "status"))
    assert kinds == {"moved": "sent", "cancelled": "sent"}
    assert [m.subject for m in mail.outbox] == ["Visit moved", "Visit cancelled"]
    # The new time, in the patient's zone (UTC): 11:00 London is 11:00 UTC in winter and
    # 10:00 in summer (the test assumed GMT and failed from the end of March).
    assert at(monday, 11).astimezone(dt.UTC).strftime("%H:%M") in mail.outbox[0].body
    # A reminder for the cancelled visit is skipped, even if a task for it arrives later.
    assert tasks.send_visit_message(visit.pk, "reminder", at(monday, 11).isoformat()) == "skipped"


def test_it_takes_over_a_claim_whose_worker_died(soon, settings):
    settings.VISIT_MESSAGE_LEASE_SECONDS = 60
    message = VisitMessage.objects.create(
        visit=soon,
        kind="reminder",
        visit_start=soon.start_at,
        status="sending",
        claimed_at=timezone.now(),
    )
    assert (
        services.visit_message_send(visit_id=soon.pk, kind="reminder", visit_start=soon.start_at)
        == "busy"
    )
    VisitMessage.objects.filter(pk=message.pk).update(
        claimed_at=timezone.now() - dt.timedelta(minutes=5)
    )
    assert tasks.send_visit_message(soon.pk, "reminder", soon.start_at.isoformat()) == "sent"
    assert len(mail.outbox) == 1


def test_it_sends_each_clinician_tomorrows_list_once(clinic, patient, alice, follow_up):
    alice.email = "alice@example.org"
    alice.save()
    tomorrow = timezone.localdate() + dt.timedelta(days=1)
    start = dt.datetime.combine(tomorrow, dt.time(10), tzinfo=dt.UTC)
    Visit.objects.create(
        patient=patient,
        clinician=alice,
        visit_type=follow_up,
        center=clinic,
        start_at=start,
        end_at=start + dt.timedelta(minutes=30),
    )
    assert tasks.send_clinician_day_lists() == 1
    assert tasks.send_clinician_day_lists() == 0
    assert DayListSent.objects.count() == 1 and len(mail.outbox) == 1
    # The clinician's list is in the center's zone: 10:00 UTC is 10:00 or 11:00 in London.
    local = start.astimezone(zoneinfo.ZoneInfo("Europe/London")).strftime("%H:%M")
    assert patient.name in mail.outbox[0].body and local in mail.outbox[0].body
