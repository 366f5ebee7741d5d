"""The queue's "next visit" column and "visit overdue" flag, kept on visit writes, and the
workspace's Visits tab (upcoming and history in the patient's own time zone)."""

import datetime as dt
import zoneinfo

from django.urls import reverse
from django.utils import timezone

from care_plans.models import CarePlanVersion
from patients.models import Patient
from tests.visits import conftest as visit_personas
from visits import services
from visits.models import Visit
from workspace.models import TriageEntry

at = visit_personas.at
# the visits personas' fixtures (North Clinic, Alice's hours, follow-up type, a plan)
clinic, room, follow_up = visit_personas.clinic, visit_personas.room, visit_personas.follow_up
monday, plan = visit_personas.monday, visit_personas.plan

SHANGHAI = zoneinfo.ZoneInfo("Asia/Shanghai")
LONDON = zoneinfo.ZoneInfo("Europe/London")


def entry(patient) -> TriageEntry:
    return TriageEntry.objects.get(pk=patient.pk)


def test_it_keeps_the_next_visit_on_book_move_and_cancel(
    client, patient, alice, staff, clinic, follow_up, monday
):
    Patient.objects.filter(pk=patient.pk).update(timezone="Asia/Shanghai")
    patient.refresh_from_db()
    visit = services.visit_book(
        patient=patient, clinician=alice, visit_type=follow_up, start=at(monday, 10), by=staff
    )
    assert entry(patient).next_visit_at == at(monday, 10)
    client.force_login(alice)
    page = client.get(reverse("patients-list")).content.decode()
    # A clinician reads the center's time (London), not the patient's (accounts.display).
    assert f" {at(monday, 10).strftime('%H:%M')}</span>" in page
    services.visit_reschedule(visit=visit, start=at(monday, 14), by=staff)
    assert entry(patient).next_visit_at == at(monday, 14)
    services.visit_cancel(visit=visit, by=staff, reason="Patient travelling")
    assert entry(patient).next_visit_at is None


def test_it_flags_an_overdue_follow_up_until_one_is_booked(
    client, patient, alice, staff, plan, clinic, follow_up, monday
):
    written = timezone.now() - dt.timedelta(days=120)  # cadence 90 days: due 30 days ago
    CarePlanVersion.objects.filter(plan__patient=patient).update(created_at=written)
    from workspace.triage import triage_refresh

    triage_refresh(patient_ids=[patient.pk])
    due = timezone.localdate(written, patient.tzinfo) + dt.timedelta(days=90)
    assert "visit_overdue" in entry(patient).flags and entry(patient).visit_due == due
    client.force_login(alice)
    page = client.get(reverse("patients-list"), {"flag": "visit_overdue"}).content.decode()
    assert patient.name in page and "overdue since" in page
    services.visit_book(
        patient=patient, clinician=alice, visit_type=follow_up, start=at(monday, 10), by=staff
    )
    assert "visit_overdue" not in entry(patient).flags


def test_it_shows_upcoming_and_past_visits_on_the_visits_tab(
    client, patient, alice, staff, clinic, follow_up, monday
):
    Patient.objects.filter(pk=patient.pk).update(timezone="Asia/Shanghai")
    patient.refresh_from_db()
    services.visit_book(
        patient=patient, clinician=alice, visit_type=follow_up, start=at(monday, 10), by=staff
    )
    past = timezone.now().replace(microsecond=0) - dt.timedelta(days=40)
    Visit.objects.create(
        patient=patient,
        clinician=alice,
        visit_type=follow_up,
        center=clinic,
        start_at=past,
        end_at=past + dt.timedelta(minutes=30),
        status=Visit.Status.NO_SHOW,
    )
    client.force_login(alice)
    page = client.get(reverse("patients-visits", args=[patient.pk])).content.decode()
    upcoming, history = page.split("visits-upcoming")[1].split("visits-history")
    # The clinician reads the center's time (London); the patient their own (Shanghai).
    assert at(monday, 10).strftime("%H:%M") in upcoming
    assert past.astimezone(LONDON).strftime("%H:%M") in history and "No-show" in history
    assert "Europe/London" in page
    patient.user.patient = patient
    client.force_login(patient.user)
    own = client.get(reverse("home")).content.decode()  # their visits are on their home page
    assert at(monday, 10).astimezone(SHANGHAI).strftime("%H:%M") in own


def test_it_refuses_the_visits_tab_to_an_outsider(client, patient, bob):
    client.force_login(bob)
    assert client.get(reverse("patients-visits", args=[patient.pk])).status_code == 404
