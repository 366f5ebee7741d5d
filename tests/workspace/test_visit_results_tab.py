"""The Visits tab shows results over time, HbA1c beside GMI on one chart (issue #19 §5)."""

import datetime as dt
import json

from django.urls import reverse
from django.utils import timezone

from reports.models import Report
from visits.models import Visit, VisitCompletion, VisitType


def _completed(patient, clinician, days_ago, **results):
    follow_up, _ = VisitType.objects.get_or_create(
        code="follow_up", defaults={"name": "Follow-up", "duration_minutes": 30}
    )
    start = timezone.now() - dt.timedelta(days=days_ago)
    visit = Visit.objects.create(
        patient=patient,
        clinician=clinician,
        visit_type=follow_up,
        center=patient.care_center,
        start_at=start,
        end_at=start + dt.timedelta(minutes=30),
        status="completed",
    )
    return VisitCompletion.objects.create(visit=visit, **results)


def test_it_shows_hba1c_beside_gmi_over_time(client, alice, patient, staff):
    from care_plans.services import care_plan_default_content, care_plan_revise

    content = care_plan_default_content(patient=patient)
    care_plan_revise(patient=patient, by=alice, reason="First plan", content=content)
    _completed(patient, alice, 100, hba1c_percent="7.5", hba1c_mmol_mol=58)
    _completed(patient, alice, 5, hba1c_percent="7.0", hba1c_mmol_mol=53, egfr=70)
    today = timezone.localdate()
    Report.objects.create(
        patient=patient,
        period_start=today - dt.timedelta(days=20),
        period_end=today - dt.timedelta(days=7),
        kind="cgm",
        metrics={"gmi_percent": 6.64},
    )
    client.force_login(alice)
    response = client.get(reverse("patients-visits", args=[patient.pk]))
    page = response.content.decode()
    assert "7.0 % (53 mmol/mol)" in page and "7.5 % (58 mmol/mol)" in page
    figure = response.context["results_figure"]
    hba1c, gmi = figure["data"]
    assert hba1c["y"] == [7.5, 7.0] and gmi["y"] == [6.6]
    assert json.dumps(figure)  # serialisable for the page's figure script
    assert 'data-figure="results-figure-data"' in page
    # The kidney check is due a year from the eGFR recorded five days ago (no box ticked).
    kidneys = next(c for c in response.context["checks_due"] if c["key"] == "kidneys")
    assert kidneys["due"] == kidneys["last_done"] + dt.timedelta(days=365)
    assert kidneys["last_done"] == timezone.localdate(
        timezone.now() - dt.timedelta(days=5), patient.tzinfo
    )
    client.force_login(staff)  # clinical data: staff never get the tab
    assert client.get(reverse("patients-visits", args=[patient.pk])).status_code == 404
