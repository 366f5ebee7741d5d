"""Booking, the database's no-double-booking rule, the visit's life and the worklist."""

import datetime as dt

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from care_plans.services import care_plan_default_content, care_plan_revise
from tests.conftest import make_patient
from tests.visits.conftest import at
from visits import services
from visits.models import AvailabilityException, ClosedDay, Visit, VisitChange, VisitType


@pytest.fixture
def booked(clinic, patient, alice, follow_up, monday, staff):
    return services.visit_book(
        patient=patient, clinician=alice, visit_type=follow_up, start=at(monday, 10), by=staff
    )


def slot_times(slots) -> list[str]:
    return [s.start.astimezone(at(dt.date(2026, 1, 1), 0).tzinfo).strftime("%H:%M") for s in slots]


def test_it_offers_slots_inside_hours_and_availability(clinic, alice, follow_up, monday):
    slots = services.visit_slots(visit_type=follow_up, center=clinic, first=monday, clinician=alice)
    times = slot_times(slots)
    assert times[0] == "09:00" and times[-1] == "16:30"  # 30-minute visits, 09:00–17:00
    assert len(times) == 31  # every 15 minutes from 09:00 to 16:30: 7.5 h × 4 + 1
    assert {s.room_id for s in slots} == {alice.availability.first().room_id}


def test_it_offers_no_slots_on_a_closed_day_or_leave(clinic, alice, follow_up, monday):
    ClosedDay.objects.create(center=clinic, date=monday, reason="Bank holiday")
    AvailabilityException.objects.create(
        clinician=alice, center=clinic, date=monday + dt.timedelta(1), kind="leave"
    )
    AvailabilityException.objects.create(
        clinician=alice,
        center=clinic,
        date=monday + dt.timedelta(2),
        kind="training",
        starts=dt.time(9),
        ends=dt.time(16),
    )
    for offset, expected in ((0, 0), (1, 0), (2, 3)):  # 16:00, 16:15, 16:30
        slots = services.visit_slots(
            visit_type=follow_up,
            center=clinic,
            first=monday + dt.timedelta(offset),
            clinician=alice,
        )
        assert len(slots) == expected


def test_it_offers_an_extra_session(clinic, alice, follow_up, monday):
    saturday = monday + dt.timedelta(5)
    from visits.models import OpeningHours

    OpeningHours.objects.create(center=clinic, weekday=5, opens=dt.time(9), closes=dt.time(12))
    AvailabilityException.objects.create(
        clinician=alice,
        center=clinic,
        date=saturday,
        kind="extra",
        starts=dt.time(9),
        ends=dt.time(10),
    )
    slots = services.visit_slots(visit_type=follow_up, center=clinic, first=saturday)
    assert slot_times(slots) == ["09:00", "09:15", "09:30"]


def test_it_books_and_removes_the_slot(booked, clinic, alice, follow_up, monday):
    assert booked.status == "booked" and booked.end_at == at(monday, 10, 30)
    assert booked.room is not None
    times = slot_times(
        services.visit_slots(visit_type=follow_up, center=clinic, first=monday, clinician=alice)
    )
    assert "10:00" not in times and "09:45" not in times and "10:15" not in times
    assert "09:30" in times and "10:30" in times
    assert VisitChange.objects.filter(visit=booked, action="booked").count() == 1


def test_it_refuses_times_outside_availability(clinic, patient, alice, follow_up, monday, staff):
    with pytest.raises(services.VisitError):
        services.visit_book(
            patient=patient, clinician=alice, visit_type=follow_up, start=at(monday, 8), by=staff
        )
    with pytest.raises(services.VisitError):
        services.visit_book(
            patient=patient,
            clinician=alice,
            visit_type=follow_up,
            start=at(monday, 16, 45),  # would end at 17:15
            by=staff,
        )


def test_it_refuses_a_clinician_of_the_wrong_role(clinic, patient, alice, education, monday, staff):
    with pytest.raises(services.VisitError):
        services.visit_book(
            patient=patient, clinician=alice, visit_type=education, start=at(monday, 10), by=staff
        )


def test_it_answers_a_double_booking_with_the_next_free_slots(
    booked, clinic, other_patient, alice, follow_up, monday, staff
):
    with pytest.raises(services.SlotTaken) as caught:
        services.visit_book(
            patient=other_patient,
            clinician=alice,
            visit_type=follow_up,
            start=at(monday, 10, 15),
            by=staff,
        )
    assert caught.value.what in ("clinician", "room")
    assert caught.value.next_free[0].start == at(monday, 10, 30)
    assert Visit.objects.count() == 1


@pytest.mark.parametrize("column", ["clinician", "patient", "room"])
def test_it_is_the_database_that_refuses_overlaps(booked, other_patient, bob, column, monday):
    """Bypass the service: an overlapping row for the same clinician, patient or room fails."""
    fields = {
        "patient": other_patient,
        "clinician": bob,
        "visit_type": booked.visit_type,
        "center": booked.center,
        "room": None,
        "start_at": at(monday, 10, 15),
        "end_at": at(monday, 10, 45),
    }
    fields[column] = getattr(booked, column)
    with pytest.raises(IntegrityError, match=f"visit_no_overlap_{column}"):
        with transaction.atomic():
            Visit.objects.create(**fields)
    fields["status"] = "cancelled"  # a cancelled visit blocks nothing
    with transaction.atomic():
        Visit.objects.create(**fields)


def test_it_lets_an_update_overlap_nothing(booked, other_patient, alice, follow_up, monday, staff):
    other = services.visit_book(
        patient=other_patient, clinician=alice, visit_type=follow_up, start=at(monday, 11), by=staff
    )
    with pytest.raises(IntegrityError):
        with transaction.atomic():
            Visit.objects.filter(pk=other.pk).update(start_at=at(monday, 10, 15))


def test_it_frees_the_slot_when_cancelled(booked, other_patient, alice, follow_up, monday, staff):
    with pytest.raises(services.VisitError):
        services.visit_cancel(visit=booked, by=staff, reason="  ")
    services.visit_cancel(visit=booked, by=staff, reason="Patient unwell")
    again = services.visit_book(
        patient=other_patient, clinician=alice, visit_type=follow_up, start=at(monday, 10), by=staff
    )
    assert again.pk != booked.pk
    booked.refresh_from_db()
    assert booked.status == "cancelled" and booked.cancel_reason == "Patient unwell"


def test_it_moves_a_visit_and_keeps_its_history(booked, monday, staff):
    moved = services.visit_reschedule(
        visit=booked, start=at(monday + dt.timedelta(1), 14), by=staff
    )
    assert moved.start_at == at(monday + dt.timedelta(1), 14)
    assert moved.end_at == at(monday + dt.timedelta(1), 14, 30)
    change = VisitChange.objects.get(visit=booked, action="moved")
    assert change.old_start == at(monday, 10) and change.new_start == moved.start_at


def test_it_moves_a_visit_onto_its_own_old_time_overlap(booked, monday, staff):
    """Moving 15 minutes later overlaps only the visit itself: allowed."""
    moved = services.visit_reschedule(visit=booked, start=at(monday, 10, 15), by=staff)
    assert moved.start_at == at(monday, 10, 15)


def test_it_runs_a_visit_from_check_in_to_completion(booked, staff, alice):
    Visit.objects.filter(pk=booked.pk).update(
        start_at=timezone.now() - dt.timedelta(minutes=5),
        end_at=timezone.now() + dt.timedelta(minutes=25),
    )
    booked.refresh_from_db()
    services.visit_check_in(visit=booked, by=staff)
    with pytest.raises(services.VisitError):
        services.visit_check_in(visit=booked, by=staff)
    with pytest.raises(services.VisitError):
        services.visit_complete(visit=booked, by=alice, checks_done=["hba1c", "teeth"])
    visit = services.visit_complete(
        visit=booked, by=alice, checks_done=["hba1c", "feet"], hba1c_percent=7.2, feet="normal"
    )
    assert visit.status == "completed" and visit.completion.checks_done == ["feet", "hba1c"]
    with pytest.raises(services.VisitError):
        services.visit_cancel(visit=visit, by=staff, reason="late")


def test_it_marks_a_no_show_only_once_the_time_has_come(booked, staff):
    with pytest.raises(services.VisitError):
        services.visit_mark_no_show(visit=booked, by=staff)
    Visit.objects.filter(pk=booked.pk).update(
        start_at=timezone.now() - dt.timedelta(hours=1),
        end_at=timezone.now() - dt.timedelta(minutes=30),
    )
    booked.refresh_from_db()
    assert services.visit_mark_no_show(visit=booked, by=staff).status == "no_show"


# --- Due dates and the worklist -----------------------------------------------------------


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


def _age_plan(plan, days: int) -> None:
    from care_plans.models import CarePlanVersion

    CarePlanVersion.objects.filter(pk=plan.pk).update(
        created_at=timezone.now() - dt.timedelta(days=days)
    )


def test_it_puts_a_patient_whose_visit_is_overdue_on_the_worklist(plan, patient, staff, follow_up):
    _age_plan(plan, 100)  # cadence 90 days: due 10 days ago
    rows = services.worklist(user=staff)
    assert [(r.patient, r.state) for r in rows] == [(patient, "overdue")]
    assert rows[0].due == timezone.localdate() - dt.timedelta(days=10)
    assert rows[0].visit_type == follow_up
    assert "HbA1c" in rows[0].checks


def test_it_moves_the_due_date_when_a_visit_is_completed(plan, patient, alice, staff, follow_up):
    _age_plan(plan, 100)
    _past_visit(patient, alice, follow_up, days_ago=3)
    assert services.worklist(user=staff) == []
    assert services.due_dates([patient])[patient.pk] == timezone.localdate() + dt.timedelta(87)


@pytest.mark.parametrize("status", ["cancelled", "no_show"])
def test_it_puts_the_patient_back_after_a_cancelled_or_missed_visit(
    plan, patient, alice, staff, follow_up, status
):
    _age_plan(plan, 100)
    _past_visit(patient, alice, follow_up, days_ago=3, status=status)
    assert [r.patient for r in services.worklist(user=staff)] == [patient]


def test_it_takes_a_patient_off_the_worklist_once_booked(plan, booked, staff):
    _age_plan(plan, 100)
    assert services.worklist(user=staff) == []
    start, overdue = services.next_visit_by_patient([booked.patient_id])[booked.patient_id]
    assert start == booked.start_at and overdue is False


def test_it_moves_the_due_date_when_the_plan_cadence_changes(plan, patient, alice):
    _age_plan(plan, 20)
    assert services.due_dates([patient])[patient.pk] == timezone.localdate() + dt.timedelta(70)
    content = {**plan.content, "visit_cadence_days": 14}
    care_plan_revise(patient=patient, by=alice, reason="Closer follow-up", content=content)
    # A new version restarts the plan clock today: due in 14 days, on the worklist.
    assert services.due_dates([patient])[patient.pk] == timezone.localdate() + dt.timedelta(14)
    assert services.next_visit_by_patient([patient.pk])[patient.pk] == (None, False)


def test_it_reports_overdue_for_many_patients_at_once(plan, patient, other_patient, bob):
    _age_plan(plan, 95)
    result = services.next_visit_by_patient([patient.pk, other_patient.pk])
    assert result == {patient.pk: (None, True), other_patient.pk: (None, False)}


def test_one_patients_follow_up_is_the_lists(
    plan, patient, other_patient, alice, bob, follow_up, education
):
    """The one-patient reads (the report page, the patient's home) answer as the list's:
    the latest completed follow-up (not another kind of visit), the earliest open visit
    (not an ended, a cancelled or another patient's one). The other patient has a plan too,
    so the two-patient calls take the list queries."""
    care_plan_revise(
        patient=other_patient,
        by=bob,
        reason="First plan",
        content={**care_plan_default_content(patient=other_patient), "review_interval_days": 365},
    )
    now = timezone.now()
    _past_visit(patient, alice, follow_up, days_ago=40)
    last = _past_visit(patient, alice, follow_up, days_ago=10)
    _past_visit(patient, alice, education, days_ago=2)
    _past_visit(patient, alice, follow_up, days_ago=1, status="booked")  # ended: not open
    first_open = _past_visit(patient, alice, follow_up, days_ago=-3, status="booked")
    _past_visit(patient, alice, follow_up, days_ago=-5, status="booked")
    _past_visit(patient, alice, follow_up, days_ago=-2, status="cancelled")
    _past_visit(other_patient, alice, follow_up, days_ago=-1, status="booked")
    due = timezone.localdate(last.start_at, patient.tzinfo) + dt.timedelta(
        days=plan.visit_cadence_days
    )
    assert first_open.start_at > now
    assert services.due_dates([patient]) == {patient.pk: due}
    assert services.due_dates([patient, other_patient])[patient.pk] == due
    one = services.next_visit_by_patient([patient.pk], patients=[patient])
    assert one == {patient.pk: (first_open.start_at, False)}
    both = services.next_visit_by_patient([patient.pk, other_patient.pk])
    assert both[patient.pk] == one[patient.pk]
    assert services.follow_up_due(patient) == {
        "due": due,
        "overdue": False,
        "next_visit": first_open.start_at,
    }
    # Nothing booked, the plan's date passed: overdue, alone as in a list.
    Visit.objects.filter(patient=patient, start_at__gt=now).update(status="cancelled")
    _age_plan(plan, 400)
    Visit.objects.filter(patient=patient, status="completed").delete()
    assert services.next_visit_by_patient([patient.pk]) == {patient.pk: (None, True)}
    assert services.next_visit_by_patient([patient.pk, other_patient.pk])[patient.pk] == (
        None,
        True,
    )


def test_it_shows_staff_urgent_without_the_reason(
    plan, patient, staff, alice, follow_up, monkeypatch
):
    monkeypatch.setattr(
        "readings.windows.rollup_metrics",
        lambda ids, **kw: {patient.pk: {"gri_zone": "E", "very_low_percent": 2.0}},
    )
    VisitType.objects.create(code="urgent", name="Urgent", duration_minutes=20)
    staff_rows = services.worklist(user=staff)
    assert staff_rows[0].state == "urgent" and staff_rows[0].reasons == []
    assert staff_rows[0].visit_type.code == "urgent"
    clinician_rows = services.worklist(user=alice)
    assert clinician_rows[0].reasons == ["gri_zone_e", "very_low"]


def test_it_keeps_other_centers_patients_off_the_worklist(plan, other_staff):
    _age_plan(plan, 100)
    assert services.worklist(user=other_staff) == []


def test_it_counts_a_patient_without_a_center_out(alice):
    p = make_patient("NOCENTER", endocrinologists=[alice])
    care_plan_revise(patient=p, by=alice, reason="x", content=care_plan_default_content(patient=p))
    assert services.worklist(user=alice) == []


def test_a_deadlock_victims_write_is_tried_again_and_other_errors_are_not():
    """PostgreSQL aborts one of two bookings whose exclusion checks wait for each other
    (40P01, seen once in CI's 20-way race): that write is simply run again."""
    from django.db import OperationalError

    from visits.services.lifecycle import DEADLOCK_RETRIES, _write_retrying_deadlocks

    class Cause(Exception):
        def __init__(self, sqlstate):
            self.sqlstate = sqlstate

    def failing(sqlstate, times):
        calls = []

        def write():
            calls.append(1)
            if len(calls) <= times:
                raise OperationalError("boom") from Cause(sqlstate)
            return "written"

        return write, calls

    write, calls = failing("40P01", 2)
    assert _write_retrying_deadlocks(write) == "written" and len(calls) == 3
    write, calls = failing("40P01", DEADLOCK_RETRIES)
    with pytest.raises(OperationalError):
        _write_retrying_deadlocks(write)
    assert len(calls) == DEADLOCK_RETRIES
    write, calls = failing("57P01", 1)  # the server went away: not ours to retry
    with pytest.raises(OperationalError):
        _write_retrying_deadlocks(write)
    assert len(calls) == 1
