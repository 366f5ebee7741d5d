"""The patient's home page: their own goals in plain words, lows first, what to do next."""

import numpy as np
import pytest
from django.urls import reverse

from care_plans.services import care_plan_default_content, care_plan_revise
from reports.services import report_generate
from tests.reports.conftest import PERIOD_END, PERIOD_START, grid, load
from tests.reports.conftest import load_meter as load_meter  # noqa: F401 - a fixture

pytestmark = pytest.mark.django_db


@pytest.fixture
def lows_report(patient, alice):
    """12.5 % of readings below 70 (36 of 288 a day at 60 mg/dL), goal < 4 %."""
    content = care_plan_default_content(patient=patient)
    content["patient_instructions"] = "Eat 15 g of fast sugar when below 70."
    care_plan_revise(patient=patient, by=alice, reason="start", content=content)
    t = grid(PERIOD_START, 14)
    v = np.full(t.size, 120.0)
    v[np.arange(t.size) % 288 < 36] = 60.0
    load(patient, t, v)
    report = report_generate(patient_id=patient.pk, period_end=PERIOD_END)
    report.message_set(text="Let us lower your evening dose.", by=alice)
    report.note_set(text="Internal: consider CGM alarm", by=alice)
    return report


def test_it_tells_the_patient_about_their_lows_first_in_words(client, patient_user, lows_report):
    client.force_login(patient_user)
    response = client.get(reverse("home"))
    assert response.status_code == 200
    body = response.content.decode()
    goals = body.split('id="lay-goals"')[1].split("</ul>")[0]
    first = goals.split("<li")[1]
    assert "Time low" in first and "12.5 %" in first and "&lt; 4 %" in first
    assert "Too many lows" in first and "tone-bad" in first
    assert "Eat 15 g of fast sugar when below 70." in body  # the plan's instructions
    assert "Let us lower your evening dose." in body
    assert "Internal: consider CGM alarm" not in body
    assert reverse("reports-detail", args=[lows_report.pk]) in body
    shown = body.replace(lows_report.patient.name, "")  # the fixture's name contains "MRN"
    for jargon in ("MRN", "GRI", "LBGI", "/api/docs/"):
        assert jargon not in shown


def test_it_explains_every_figure_in_one_line(client, patient_user, lows_report):
    client.force_login(patient_user)
    body = client.get(reverse("home")).content.decode()
    assert body.count('class="why"') == len(lows_report.goals)


def test_it_speaks_the_patients_unit(client, patient_user, lows_report):
    patient_user.unit = "mmol/L"
    patient_user.save()
    client.force_login(patient_user)
    body = client.get(reverse("home")).content.decode()
    assert "3.9–10.0 mmol/L" in body and "mg/dL" not in body


def test_it_gives_a_meter_only_patient_their_finger_stick_view(
    client, patient_user, patient, load_meter
):
    load_meter(patient)
    report_generate(patient_id=patient.pk, period_end=PERIOD_END)
    client.force_login(patient_user)
    body = client.get(reverse("home")).content.decode()
    assert 'data-goal="fasting_mean_mg_dl"' in body and "80–130 mg/dL" in body
    assert "No CGM" not in body and 'id="lay-goals"' not in body


def test_it_shows_an_outsider_nothing_of_another_patient(client, other_patient_user, lows_report):
    client.force_login(other_patient_user)
    body = client.get(reverse("home")).content.decode()
    assert "Let us lower your evening dose." not in body
    assert reverse("reports-detail", args=[lows_report.pk]) not in body


def test_it_sends_anonymous_visitors_to_sign_in(client):
    response = client.get(reverse("home"))
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def _followed_up(patient, alice, *, plan_days_ago: int, visit_days_ago: int):
    """A plan written ``plan_days_ago`` (visit cadence 90 days) and a completed follow-up
    ``visit_days_ago``: the worklist counts from the visit, not from the plan."""
    import datetime as dt

    from django.utils import timezone

    from care_plans.models import CarePlanVersion
    from visits.models import Visit, VisitType

    content = care_plan_default_content(patient=patient)
    version = care_plan_revise(patient=patient, by=alice, reason="start", content=content)
    now = timezone.now()
    CarePlanVersion.objects.filter(pk=version.pk).update(
        created_at=now - dt.timedelta(days=plan_days_ago)
    )
    follow_up = VisitType.objects.create(code="follow_up", name="Follow-up", duration_minutes=30)
    start = now - dt.timedelta(days=visit_days_ago)
    Visit.objects.create(
        patient=patient,
        clinician=alice,
        visit_type=follow_up,
        center=patient.care_center,
        start_at=start,
        end_at=start + dt.timedelta(minutes=30),
        status="completed",
    )
    today = timezone.localdate(now, patient.tzinfo)
    return {
        "worklist": today + dt.timedelta(days=90 - visit_days_ago),  # the visit + 90 days
        "plan": today + dt.timedelta(days=90 - plan_days_ago),  # what the home page said
    }


@pytest.mark.parametrize("visit_days_ago", [10, 100])
def test_it_gives_the_due_date_the_worklist_gives(
    client, patient_user, patient, alice, visit_days_ago
):
    from django.utils.formats import date_format

    from visits.services import due_dates

    dates = _followed_up(patient, alice, plan_days_ago=200, visit_days_ago=visit_days_ago)
    assert due_dates([patient])[patient.pk] == dates["worklist"]  # the staff's worklist
    client.force_login(patient_user)
    body = client.get(reverse("home")).content.decode()
    shown = date_format(dates["worklist"], "DATE_FORMAT")
    # One date (the worklist's), in the language's one format (diabetes_center/formats: the
    # short and long names are the same format); the plan's own date is not shown.
    assert date_format(dates["worklist"], "SHORT_DATE_FORMAT") == shown
    assert date_format(dates["plan"], "DATE_FORMAT") not in body
    next_steps = body.split('id="next-title"')[1].split("</section>")[0]
    panel = body.split('id="visits-panel-title"')[1].split("</h2>")[0]
    assert shown in next_steps and shown in panel
    if visit_days_ago > 90:  # overdue since the visit + 90 days, and told so
        assert "overdue since" in next_steps and "overdue since" in panel
        assert "around" not in next_steps
    else:
        assert "overdue" not in next_steps and "overdue" not in panel
