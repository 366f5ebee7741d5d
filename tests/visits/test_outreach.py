"""The worklist as a recall list (issue #19 §1): urgent that clears, the visit type that
follows what is due, no-shows back on the list, contact and the outreach log, invites."""

import datetime as dt

import pytest
from django.core import mail
from django.utils import timezone

from care_plans.services import care_plan_revise
from tests.conftest import make_patient
from visits import services
from visits.models import OutreachAttempt, Visit, VisitCompletion, VisitType


def _age_plan(plan, days: int) -> None:
    from care_plans.models import CarePlanVersion

    CarePlanVersion.objects.filter(pk=plan.pk).update(
        created_at=timezone.now() - dt.timedelta(days=days)
    )


def _past_visit(patient, clinician, visit_type, days_ago: int, status="completed") -> Visit:
    start = timezone.now() - dt.timedelta(days=days_ago)
    return Visit.objects.create(
        patient=patient,
        clinician=clinician,
        visit_type=visit_type,
        center=patient.care_center,
        start_at=start,
        end_at=start + dt.timedelta(minutes=30),
        status=status,
    )


@pytest.fixture
def urgent_glucose(monkeypatch, patient):
    monkeypatch.setattr(
        "readings.windows.rollup_metrics",
        lambda ids, **kw: {patient.pk: {"gri_zone": "E", "very_low_percent": 2.0}},
    )


@pytest.fixture
def types(follow_up):
    urgent = VisitType.objects.create(code="urgent", name="Urgent review", duration_minutes=20)
    annual = VisitType.objects.create(
        code="annual_review", name="Annual review (eyes, kidneys, feet)", duration_minutes=60
    )
    return {"follow_up": follow_up, "urgent": urgent, "annual_review": annual}


def _checks_done_yesterday(patient, alice, follow_up, keys):
    visit = _past_visit(patient, alice, follow_up, days_ago=400)
    VisitCompletion.objects.create(visit=visit, checks_done=keys)


# --- Urgent: clears when seen; never "urgent" for a far due date ---------------------------


def test_it_clears_urgent_once_the_patient_has_been_seen(
    plan, patient, staff, alice, types, urgent_glucose
):
    """Reported: a patient just seen stayed "Urgent"."""
    assert services.worklist(user=staff)[0].state == "urgent"
    _past_visit(patient, alice, types["follow_up"], days_ago=1)
    assert services.worklist(user=staff) == []


def test_it_does_not_call_a_patient_due_next_year_urgent_for_an_overdue_plan_review(
    patient, staff, alice, follow_up
):
    """Reported: patients due in 2027 showed "Urgent" (the plan's review date had passed)."""
    from care_plans.models import CarePlanVersion
    from care_plans.services import care_plan_default_content

    content = {
        **care_plan_default_content(patient=patient),
        "visit_cadence_days": 365,
        "review_interval_days": 28,
    }
    version = care_plan_revise(patient=patient, by=alice, reason="Yearly", content=content)
    CarePlanVersion.objects.filter(pk=version.pk).update(
        created_at=timezone.now() - dt.timedelta(days=60)
    )  # review overdue by a month, the visit due in ten months
    assert services.worklist(user=staff) == []


def test_an_urgent_row_is_due_within_two_weeks_whatever_the_cadence(
    plan, patient, staff, types, urgent_glucose
):
    (row,) = services.worklist(user=staff)
    today = timezone.localdate(timezone.now(), patient.tzinfo)
    assert row.state == "urgent"
    assert row.due <= today + dt.timedelta(days=services.URGENT_WITHIN_DAYS)


# --- The visit type follows what is due ---------------------------------------------------


def test_it_suggests_the_annual_review_when_eye_and_kidney_checks_are_due(
    plan, patient, staff, types, urgent_glucose
):
    """Reported: eye and kidney checks due, "Urgent review 20 min" suggested."""
    (row,) = services.worklist(user=staff)
    assert row.visit_type.code == "annual_review"


def test_it_suggests_the_urgent_review_when_only_hba1c_is_due(
    plan, patient, staff, alice, types, urgent_glucose
):
    visit = _past_visit(patient, alice, types["follow_up"], days_ago=200)
    VisitCompletion.objects.create(visit=visit, checks_done=["eyes", "kidneys", "feet"])
    (row,) = services.worklist(user=staff)
    assert row.state == "urgent" and row.visit_type.code == "urgent"


def test_it_suggests_a_follow_up_when_nothing_annual_is_due(plan, patient, staff, alice, types):
    _age_plan(plan, 100)
    visit = _past_visit(patient, alice, types["follow_up"], 120)
    VisitCompletion.objects.create(visit=visit, checks_done=["eyes", "kidneys", "feet"])
    (row,) = services.worklist(user=staff)
    assert row.state == "overdue" and row.visit_type.code == "follow_up"


def test_a_recorded_result_counts_as_its_check_done(plan, patient, alice, types):
    visit = _past_visit(patient, alice, types["follow_up"], days_ago=30)
    VisitCompletion.objects.create(visit=visit, checks_done=[], egfr=80, retinopathy_grade="none")
    done = services.last_checks_done([patient.pk])[patient.pk]
    day = timezone.localdate(visit.start_at, patient.tzinfo)
    assert done == {"kidneys": day, "eyes": day}


# --- No-show --------------------------------------------------------------------------------


def test_a_no_show_puts_the_patient_back_marked_no_show(plan, patient, staff, alice, follow_up):
    # Seen recently (due in ~80 days): a missed visit since brings them back at once.
    _past_visit(patient, alice, follow_up, days_ago=10)
    assert services.worklist(user=staff) == []
    _past_visit(patient, alice, follow_up, days_ago=1, status="no_show")
    (row,) = services.worklist(user=staff)
    assert row.no_show and row.state == "due"


# --- Contact and outreach -------------------------------------------------------------------


def test_each_row_says_how_to_reach_the_patient(plan, patient, staff):
    _age_plan(plan, 100)
    patient.phone, patient.email = "+44 7700 900123", ""
    patient.save()
    patient.user.email = "pat@example.org"
    patient.user.save()
    (row,) = services.worklist(user=staff)
    assert row.email == "pat@example.org" and row.preferred_channel == "email"
    services.contact_preference_set(patient=patient, channel="sms", by=staff)
    assert services.worklist(user=staff)[0].preferred_channel == "sms"


def test_it_logs_outreach_and_filters_by_its_state(plan, patient, other_patient, bob, staff):
    _age_plan(plan, 100)
    from care_plans.services import care_plan_default_content

    other_plan = care_plan_revise(
        patient=other_patient,
        by=bob,
        reason="x",
        content=care_plan_default_content(patient=other_patient),
    )
    _age_plan(other_plan, 95)
    today = timezone.localdate()
    services.outreach_record(
        patient=patient, by=staff, channel="phone", outcome="no_answer", retry_on=today
    )
    rows = services.worklist(user=staff)
    states = {r.patient.pk: r.outreach_state for r in rows}
    assert states == {patient.pk: "no_answer", other_patient.pk: "not_contacted"}
    assert [r.patient for r in services.worklist_view(rows, outreach="no_answer")] == [patient]
    assert [r.patient for r in services.worklist_view(rows, outreach="retry_due")] == [patient]
    assert [r.patient for r in services.worklist_view(rows, outreach="not_contacted")] == [
        other_patient
    ]
    assert len(services.worklist_view(rows, outreach="nonsense")) == 2
    by_due = services.worklist_view(rows, sort="due")
    assert [r.due for r in by_due] == sorted(r.due for r in rows)
    by_clinician = services.worklist_view(rows, sort="clinician")
    assert [r.clinicians for r in by_clinician] == sorted(r.clinicians for r in rows)


def test_outreach_before_the_last_visit_is_forgotten(plan, patient, staff, alice, follow_up):
    _age_plan(plan, 200)
    attempt = services.outreach_record(
        patient=patient, by=staff, channel="phone", outcome="declined"
    )
    OutreachAttempt.objects.filter(pk=attempt.pk).update(at=timezone.now() - dt.timedelta(days=150))
    _past_visit(patient, alice, follow_up, days_ago=100, status="completed")
    (row,) = services.worklist(user=staff)
    assert row.outreach_state == "not_contacted"


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"channel": "pigeon", "outcome": "reached"}, "channel"),
        ({"channel": "phone", "outcome": "maybe"}, "outcome"),
        ({"channel": "phone", "outcome": "reached", "note": "x" * 301}, "300"),
        ({"channel": "phone", "outcome": "reached", "note": "a\x00b"}, "control"),
        ({"channel": "phone", "outcome": "reached", "retry_on": dt.date(2000, 1, 1)}, "year"),
    ],
)
def test_it_refuses_nonsense_outreach(patient, staff, fields, message):
    with pytest.raises(services.VisitError, match=message):
        services.outreach_record(patient=patient, by=staff, **fields)
    assert not OutreachAttempt.objects.exists()


# --- Booking invites -------------------------------------------------------------------------


def test_it_sends_a_booking_invite_in_the_patients_language_once(
    patient, staff, django_capture_on_commit_callbacks
):
    patient.email, patient.language = "pat@example.org", "zh-hans"
    patient.save()
    with django_capture_on_commit_callbacks(execute=True):
        attempt = services.booking_invite_send(patient=patient, by=staff)
    assert attempt.outcome == "invite_sent" and attempt.channel == "email"
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["pat@example.org"]
    assert "/visits/book/" in mail.outbox[0].body
    assert "随访" in mail.outbox[0].subject or "预约" in mail.outbox[0].subject
    attempt.refresh_from_db()
    assert attempt.sent_at is not None and attempt.sent_channels == "email"
    # The task run again (a redelivery) sends nothing more.
    assert services.booking_invite_deliver(attempt_id=attempt.pk) == "done"
    assert len(mail.outbox) == 1


def test_an_sms_invite_goes_through_the_sms_interface(patient, staff, settings, monkeypatch):
    sent = []

    class Recorder:
        def send(self, to, text):
            sent.append((to, text))

    monkeypatch.setattr("visits.services.outreach.sms_backend", lambda: Recorder())
    patient.phone = "+44 7700 900123"
    patient.save()
    attempt = services.booking_invite_send(patient=patient, by=staff, channel="phone")
    services.booking_invite_deliver(attempt_id=attempt.pk)
    assert attempt.channel == "sms"
    assert sent and sent[0][0] == "+44 7700 900123" and "/visits/book/" in sent[0][1]


def test_an_invite_needs_a_way_to_reach_the_patient(staff, center):
    nobody = make_patient("NOCONTACT", center=center)
    with pytest.raises(services.VisitError):
        services.booking_invite_send(patient=nobody, by=staff, channel="email")
    assert not OutreachAttempt.objects.exists()


def test_a_no_show_stops_its_reminders(plan, patient, staff, alice, follow_up):
    visit = _past_visit(patient, alice, follow_up, days_ago=0, status="booked")
    Visit.objects.filter(pk=visit.pk).update(
        start_at=timezone.now() - dt.timedelta(minutes=20),
        end_at=timezone.now() + dt.timedelta(minutes=10),
    )
    visit.refresh_from_db()
    services.visit_mark_no_show(visit=visit, by=staff)
    assert visit.pk not in [pk for pk, _start in services.reminders_due()]
    status = services.visit_message_send(
        visit_id=visit.pk, kind="reminder", visit_start=visit.start_at
    )
    assert status == "skipped" and not mail.outbox
