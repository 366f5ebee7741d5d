"""Consultation services: who may, due times, the snapshot, answers and notices."""

import datetime as dt

import pytest
from django.core import mail
from django.core.exceptions import PermissionDenied
from django.http import Http404

from accounts.models import AuditEvent
from consultations import services
from consultations.models import AnswerNotice, Consultation, ServiceLevel
from outbox.models import OutboxTask
from tests.consultations.conftest import NOW

pytestmark = pytest.mark.django_db


def ask(patient, text="My glucose is high after lunch", category="glucose"):
    return services.consultation_ask(patient=patient, by=patient.user, category=category, text=text)


def test_it_makes_the_answer_due_in_business_hours(patient, clock):
    # Asked on Saturday; the default week (Mon–Fri 09–17, London = GMT in mid-March) and
    # 8 hours for glucose: due Monday 16 March 17:00 GMT.
    consultation = ask(patient)
    assert consultation.due_at == dt.datetime(2026, 3, 16, 17, tzinfo=dt.UTC)
    assert consultation.service_hours == 8


def test_it_uses_the_centers_own_hours_and_service_level(patient, center, clock):
    from visits.models import OpeningHours

    OpeningHours.objects.create(center=center, weekday=5, opens=dt.time(10), closes=dt.time(14))
    ServiceLevel.objects.create(center=center, category="glucose", business_hours=1)
    # Open Saturdays 10–14: asked Saturday 12:00 GMT → 13:00.
    assert ask(patient).due_at == dt.datetime(2026, 3, 14, 13, tzinfo=dt.UTC)


def test_the_snapshot_holds_the_last_14_days_at_asking(with_data):
    consultation = ask(with_data)
    snap = consultation.snapshot
    assert snap["window"] == ["2026-03-01", "2026-03-14"]
    assert snap["readings"] == 13 * 288
    # The known day: 173 of 288 readings in 70–180; mean 40500 / 288.
    assert snap["metrics"]["in_target_percent"] == pytest.approx(100 * 173 / 288)
    assert snap["metrics"]["mean_mg_dl"] == pytest.approx(140.625)
    assert len(snap["agp"]["p50"]) == 24


def test_only_the_patient_asks(patient, alice, clock):
    with pytest.raises(PermissionDenied):
        services.consultation_ask(patient=patient, by=alice, category="glucose", text="x")


def test_it_refuses_an_unknown_category_and_empty_text(patient, clock):
    with pytest.raises(services.ConsultationError):
        ask(patient, category="weather")
    with pytest.raises(services.ConsultationError):
        ask(patient, text="   ")
    with pytest.raises(services.ConsultationError):
        ask(patient, text="a\x00b")


def test_a_question_reaches_only_the_care_team(
    patient, alice, bob, staff, other_staff, admin_user, other_patient, clock
):
    consultation = ask(patient)
    assert list(services.inbox(alice)) == [consultation]
    assert list(services.inbox(admin_user)) == [consultation]
    for outsider in (bob, staff, other_staff, other_patient.user):
        assert services.inbox(outsider) == []
        with pytest.raises(Http404):
            services.consultation_for(outsider, consultation.pk)
    assert services.consultation_for(patient.user, consultation.pk) == consultation


def test_an_answer_notifies_the_patient_once_in_their_language(patient, alice, clock):
    patient.language = "zh-hans"
    patient.email = "pat@example.org"
    patient.phone = "+44 20 7946 0000"
    patient.save()
    consultation = ask(patient)
    message = services.consultation_post(consultation=consultation, by=alice, text="Eat less rice")
    consultation.refresh_from_db()
    assert consultation.state == Consultation.State.ANSWERED
    assert consultation.first_answer_at == NOW and consultation.due_at is None
    # Enqueued through the outbox by name; eager tests ran it on commit or it is pending.
    assert OutboxTask.objects.filter(task=services.SEND_ANSWER_NOTICE).exists()
    services.answer_notice_send(message_id=message.pk)
    services.answer_notice_send(message_id=message.pk)  # twice: sent once
    notice = AnswerNotice.objects.get(message=message)
    assert notice.status == "sent" and notice.channels == "in_app,email,sms"
    assert len(mail.outbox) == 1
    assert mail.outbox[0].subject == "您的医护团队已回复"
    assert services.unread_answers(patient) == 1
    services.consultation_read(patient.user, consultation)
    assert services.unread_answers(patient) == 0


def test_a_reply_puts_the_question_back_and_closing_stops_replies(patient, alice, clock):
    consultation = ask(patient)
    services.consultation_post(consultation=consultation, by=alice, text="Try this")
    services.consultation_post(consultation=consultation, by=patient.user, text="It did not help")
    consultation.refresh_from_db()
    assert consultation.state == Consultation.State.OPEN and consultation.due_at is not None
    services.consultation_close(consultation=consultation, by=alice, outcome="referred")
    with pytest.raises(services.ConsultationError) as refused:
        services.consultation_post(consultation=consultation, by=patient.user, text="More")
    assert refused.value.status == 409


def test_staff_and_other_clinicians_cannot_answer_or_close(patient, bob, staff, clock):
    consultation = ask(patient)
    for outsider in (bob, staff):
        with pytest.raises(PermissionDenied):
            services.consultation_post(consultation=consultation, by=outsider, text="hi")
        with pytest.raises(PermissionDenied):
            services.consultation_close(consultation=consultation, by=outsider, outcome="answered")


def test_it_assigns_only_within_the_care_team(patient, alice, bob, clock):
    consultation = ask(patient)
    with pytest.raises(services.ConsultationError):
        services.consultation_assign(consultation=consultation, by=alice, to=bob)
    patient.endocrinologists.add(bob)
    services.consultation_assign(consultation=consultation, by=alice, to=bob)
    assert Consultation.objects.get(pk=consultation.pk).assigned_to == bob


def test_the_patients_access_log_shows_who_read_it(patient, alice, clock):
    from accounts.access import record_accesses

    consultation = ask(patient)
    services.consultation_read(alice, consultation)
    services.consultation_read(patient.user, consultation)  # their own reading: not logged
    rows = list(record_accesses(patient).values_list("username", "action", "what"))
    assert rows == [("alice", AuditEvent.Action.VIEW, f"consultation {consultation.pk}")]


def test_asking_staff_to_book_puts_the_patient_on_the_worklist(patient, alice, staff, clock):
    from visits.services.requests import booking_requests_open

    consultation = ask(patient)
    services.consultation_request_visit(consultation=consultation, by=alice)
    rows = booking_requests_open(user=staff)
    assert [(r.patient, r.reason) for r in rows] == [(patient, "consultation")]


def test_medication_requests_are_decided_once_by_the_team(with_data, alice, bob, clock):
    patient = with_data
    item = services.medication_request_create(
        patient=patient, by=patient.user, medication="insulin glargine", quantity=2
    )
    assert item.medication["dose"] == 18 and item.state == "pending"
    with pytest.raises(PermissionDenied):
        services.medication_request_decide(request=item, by=bob, approved=True)
    services.medication_request_decide(request=item, by=alice, approved=True, note="ok")
    item.refresh_from_db()
    assert (item.state, item.decided_by, item.decided_at) == ("approved", alice, NOW)
    with pytest.raises(services.ConsultationError):
        services.medication_request_decide(request=item, by=alice, approved=False)


def test_a_medication_not_in_the_plan_is_refused(with_data, clock):
    for medication, quantity in (("metformin", 1), ("7", 1), ("0", 0), ("0", 10**400)):
        with pytest.raises(services.ConsultationError):
            services.medication_request_create(
                patient=with_data, by=with_data.user, medication=medication, quantity=quantity
            )


def test_overdue_follows_business_hours_across_a_weekend_and_the_clock_change(patient, alice):
    """London center, default week (Mon–Fri 09–17). Asked Friday 27 March 2026 at 16:00 GMT;
    glucose is answered within 8 business hours: 1 h on Friday, 7 on Monday 30 March, which
    is BST by then: due 16:00 BST = 15:00 UTC (not 16:00 UTC, as UTC arithmetic would say)."""
    import time_machine
    from django.test import Client
    from django.urls import reverse

    with time_machine.travel(dt.datetime(2026, 3, 27, 16, tzinfo=dt.UTC), tick=False):
        consultation = ask(patient)
    assert consultation.due_at == dt.datetime(2026, 3, 30, 15, tzinfo=dt.UTC)
    for moment, overdue in (
        (dt.datetime(2026, 3, 28, 12, tzinfo=dt.UTC), False),  # Saturday: the clock is stopped
        (dt.datetime(2026, 3, 30, 14, 59, tzinfo=dt.UTC), False),  # Monday 15:59 BST
        (dt.datetime(2026, 3, 30, 15, 1, tzinfo=dt.UTC), True),  # Monday 16:01 BST
    ):
        with time_machine.travel(moment, tick=False):
            client = Client()  # a new session at each moment (idle sign-out)
            client.force_login(alice)
            assert consultation.overdue() is overdue, moment
            page = client.get(reverse("consultations-list")).content.decode()
            assert ('class="flag overdue"' in page) is overdue, moment
            response = client.get(reverse("api-consultations-list"))
            api = response.json()
            assert "results" in api, (response.status_code, api)
            assert api["results"][0]["overdue"] is overdue, moment


def test_erasure_removes_consultations_requests_and_photo_files(
    with_data, alice, admin_user, django_capture_on_commit_callbacks
):
    import os

    from django.core.files.uploadedfile import SimpleUploadedFile

    from consultations.models import MedicationRequest, Photo
    from tests.consultations.helpers import png
    from workspace.erasure import patient_erase

    patient = with_data
    ask_photo = SimpleUploadedFile("p.png", png(), "image/png")
    services.consultation_ask(
        patient=patient, by=patient.user, category="glucose", text="?", photos=[ask_photo]
    )
    services.medication_request_create(patient=patient, by=patient.user, medication="0", quantity=1)
    path = Photo.objects.get().file.path
    assert os.path.exists(path)
    with django_capture_on_commit_callbacks(execute=True):
        counts = patient_erase(patient=patient, by=admin_user)
    assert counts["files"] == 1
    assert not Consultation.objects.exists() and not MedicationRequest.objects.exists()
    assert not os.path.exists(path)
