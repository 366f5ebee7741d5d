"""The patient's own view, "My glucose": a page for a lay reader (goals in words, the AGP and a
day's trace in their unit, their uploads, reports and plan), never the clinician's workspace."""

import datetime as dt
import json
import re

import pytest
from django.urls import reverse
from django.utils import timezone

from care_plans.services import care_plan_default_content, care_plan_revise
from readings.services import upload_create, upload_process
from reports.services import report_generate
from tests.readings.helpers import plain_csv
from tests.workspace.test_workspace import load

pytestmark = pytest.mark.django_db

WORKSPACE = ("patients-detail", "patients-day", "patients-reports", "patients-plan")
WORKSPACE += ("patients-files", "patients-visits")


def figure(page: str, element_id: str) -> dict:
    match = re.search(rf'<script id="{element_id}" type="application/json">(.*?)</script>', page)
    return json.loads(match.group(1))


@pytest.fixture
def followed(patient, alice):
    """Alice's plan, 12.5 days of CGM at 120 mg/dL with one reading in 10 at 60, a report of
    the last 14 days, and an upload the patient sent."""
    content = care_plan_default_content(patient=patient)
    care_plan_revise(patient=patient, by=alice, reason="start", content=content)
    load(patient, [60] + [120] * 9)
    report_generate(patient_id=patient.pk)
    start = timezone.now() - dt.timedelta(days=20)
    upload = upload_create(
        patient=patient, by=patient.user, file=plain_csv(start, 3), filename="my-meter.csv"
    )
    upload_process(upload_id=upload.pk)
    return patient


def workspace_links(page: str, patient) -> list[str]:
    return [reverse(name, args=[patient.pk]) for name in WORKSPACE]


def hrefs(page: str) -> set[str]:
    return {href.split("?")[0].split("#")[0] for href in re.findall(r'href="([^"]+)"', page)}


def test_it_links_my_glucose_to_the_patients_own_view(client, patient):
    client.force_login(patient.user)
    page = client.get(reverse("home")).content.decode()
    assert f'href="{reverse("my-glucose")}">My glucose</a>' in page
    assert not hrefs(page) & set(workspace_links(page, patient))


def test_it_sends_the_patient_from_the_workspace_to_their_own_view(client, patient):
    client.force_login(patient.user)
    mine = reverse("my-glucose")
    answers = {
        name: client.get(reverse(name, args=[patient.pk]), {"date": "2026-01-05", "span": "7"})
        for name in WORKSPACE
    }
    assert answers["patients-detail"].status_code == 302
    assert answers["patients-detail"]["Location"] == mine
    assert answers["patients-day"]["Location"] == f"{mine}?date=2026-01-05&span=7#day"
    assert answers["patients-reports"]["Location"] == f"{mine}#reports"
    assert answers["patients-plan"]["Location"] == f"{mine}#plan"
    assert answers["patients-files"]["Location"] == f"{mine}#uploads"
    assert answers["patients-visits"]["Location"] == reverse("home") + "#visits"


def test_it_keeps_the_workspace_for_clinicians(client, alice, patient):
    client.force_login(alice)
    page = client.get(reverse("patients-detail", args=[patient.pk]))
    assert page.status_code == 200 and "Why this patient is flagged" in page.content.decode()


def test_it_shows_the_patient_their_glucose_in_their_words_and_unit(client, followed):
    followed.user.unit = "mmol/L"
    followed.user.save()
    client.force_login(followed.user)
    page = client.get(reverse("my-glucose")).content.decode()
    # Goals in words, lows first: 10 % of readings at 60 mg/dL (3.3 mmol/L) against < 4 %.
    goals = page.split('id="lay-goals"')[1].split("</ul>")[0]
    first = goals.split("<li")[1]
    assert "Time low" in first and "10.0 %" in first and "Below 3.9 mmol/L" in first
    assert "Time in your target range" in goals and "3.9–10.0 mmol/L" in goals
    # The AGP and the day's trace in the reader's unit: 120 mg/dL is 6.7 mmol/L.
    agp = figure(page, "agp-figure-data")
    assert max(agp["data"][-1]["y"]) == pytest.approx(6.7, abs=0.05)
    day = figure(page, "day-figure-data")
    assert 6.7 in day["data"][0]["y"] and day["layout"]["yaxis"]["title"]["text"] == "mmol/L"
    assert "my-meter.csv" in page and reverse("readings-upload", args=[followed.pk]) in page
    report = followed.reports.get()
    assert reverse("reports-detail", args=[report.pk]) in page
    assert reverse("care-plans-detail", args=[followed.pk]) in page
    assert "mg/dL" not in page
    shown = page.replace(followed.name, "")  # the fixture's name contains "MRN"
    for clinical in ("Why this patient is flagged", "GRI", "Coefficient of variation", "MRN"):
        assert clinical not in shown
    assert "Mark reviewed" not in page
    assert reverse("patients-review", args=[followed.pk]) not in page


def test_it_opens_on_the_day_of_the_latest_reading(client, patient):
    yesterday = timezone.localdate() - dt.timedelta(days=1)
    noon = dt.datetime.combine(yesterday, dt.time(12), tzinfo=dt.UTC)
    upload = upload_create(patient=patient, by=patient.user, file=plain_csv(noon, 3), filename="x")
    upload_process(upload_id=upload.pk)
    client.force_login(patient.user)
    page = client.get(reverse("my-glucose")).content.decode()
    assert f'value="{yesterday.isoformat()}"' in page and 'id="day-figure-data"' in page


def test_it_steps_through_days_and_weeks(client, followed):
    client.force_login(followed.user)
    url = reverse("my-glucose")
    day = timezone.localdate() - dt.timedelta(days=3)
    page = client.get(url, {"date": day.isoformat()}).content.decode()
    assert f"date={(day - dt.timedelta(days=1)).isoformat()}" in page
    assert f"date={(day + dt.timedelta(days=1)).isoformat()}" in page
    week = client.get(url, {"date": day.isoformat(), "span": "7"}).content.decode()
    assert f"date={(day - dt.timedelta(days=7)).isoformat()}&amp;span=7" in week
    assert client.get(url, {"date": "yesterday"}).status_code == 400
    assert client.get(url, {"span": "30"}).status_code == 400
    assert client.get(url, {"date": "9999-12-31"}).status_code == 400


def test_it_is_the_patients_page_alone(client, alice, staff, admin_user, db):
    from tests.conftest import make_user

    for person in (alice, staff, admin_user):
        client.force_login(person)
        assert client.get(reverse("my-glucose")).status_code == 403
    client.force_login(make_user("lone", "patient"))  # no record linked yet
    page = client.get(reverse("my-glucose"))
    assert page.status_code == 200 and "not yet linked" in page.content.decode()


def test_it_never_links_the_patient_to_the_workspace(client, followed):
    """Every page the patient reaches from home links to their own view, never the workspace."""
    client.force_login(followed.user)
    upload = followed.uploads.get()
    pages = [
        reverse("home"),
        reverse("my-glucose"),
        reverse("readings-upload", args=[followed.pk]),
        reverse("readings-uploads", args=[followed.pk]),
        reverse("readings-upload-detail", args=[upload.pk]),
        reverse("care-plans-detail", args=[followed.pk]),
        reverse("reports-detail", args=[followed.reports.get().pk]),
        reverse("patients-privacy", args=[followed.pk]),
        reverse("patients-access", args=[followed.pk]),
    ]
    workspace = set(workspace_links("", followed))
    for url in pages:
        response = client.get(url)
        assert response.status_code == 200, url
        page = response.content.decode()
        assert not hrefs(page) & workspace, url
        assert "Patient workspace" not in page, url


def test_it_speaks_chinese(client, followed):
    client.force_login(followed.user)
    client.cookies["django_language"] = "zh-hans"
    page = client.get(reverse("my-glucose")).content.decode()
    assert "我的血糖" in page and "您典型的一天" in page and "您发送的读数" in page
    assert "Your typical day" not in page
