"""The population view: who may see it, GRI grid points, targets met, months from rollups."""

import datetime as dt
import json
import re

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from readings.parsers import Reading
from readings.services import readings_ingest
from tests.conftest import make_patient

URL = "/patients/population/"


def load(patient, values, count=3600, end=None):
    end = end or timezone.now().replace(second=0, microsecond=0) - dt.timedelta(minutes=1)
    readings_ingest(
        patient=patient,
        items=[
            Reading(
                line=i + 1,
                timestamp=end - dt.timedelta(minutes=5 * i),
                value_mg_dl=float(values[i % len(values)]),
                kind="cgm",
                device="cgm",
            )
            for i in range(count)
        ],
    )


def figure(page: str, element_id: str) -> dict:
    match = re.search(rf'<script id="{element_id}" type="application/json">(.*?)</script>', page)
    return json.loads(match.group(1))


def test_it_refuses_patients_and_staff(client, patient, staff):
    assert reverse("patients-population") == URL
    for user in (patient.user, staff):
        client.force_login(user)
        assert client.get(URL).status_code == 403


def test_it_plots_only_my_patients_on_the_gri_grid(client, alice, center, other_patient):
    lows = make_patient("P1", center=center, endocrinologists=[alice], name="Lows")
    highs = make_patient("P2", center=center, endocrinologists=[alice], name="Highs")
    load(lows, [50] + [120] * 9)  # VLow 10 → hypo 10, hyper 0, GRI 30 (B)
    load(highs, [200, 300, 120, 120])  # High 25, VHigh 25 → hyper 25 + 12.5 = 37.5; GRI 60 (C)
    load(other_patient, [120])
    client.force_login(alice)
    page = client.get(URL).content.decode()
    points = {
        name: (x, y, pk)
        for trace in figure(page, "gri-grid-data")["data"]
        for name, x, y, pk in zip(
            trace["text"], trace["x"], trace["y"], trace["customdata"], strict=True
        )
    }
    assert points == {"Lows": (10.0, 0.0, lows.pk), "Highs": (0.0, 37.5, highs.pk)}
    # Consensus targets: TIR > 70 % — Lows 90 %, Highs 50 %; < 54 under 1 % — Highs only.
    assert re.search(r"TIR 70–180 mg/dL &gt; 70 %</td><td class=\"num\">1 / 2", page)
    assert re.search(r"&lt; 54 mg/dL under 1 %</td><td class=\"num\">1 / 2", page)


def test_it_shows_admins_every_patient(client, admin_user, patient, other_patient):
    load(patient, [120])
    load(other_patient, [120])
    client.force_login(admin_user)
    assert "2 patients, 2 with CGM" in client.get(URL).content.decode()


def test_it_counts_months_from_the_rollups(client, alice, center):
    # Ten days that all fall in last month, whatever today is: a month counts for a patient
    # from a week of CGM (MIN_MONTH_READINGS). Ten days back from "now" split across two
    # months in the first week of a month (the suite failed on 6 December).
    last_month = timezone.localdate().replace(day=1) - dt.timedelta(days=1)
    end = dt.datetime.combine(last_month.replace(day=20), dt.time(12), tzinfo=dt.UTC)
    patient = make_patient("P3", center=center, endocrinologists=[alice])
    load(patient, [120, 200], count=288 * 10, end=end)
    client.force_login(alice)
    page = client.get(URL).content.decode()
    months = figure(page, "monthly-data")["data"]
    assert months and all(0 <= y <= 100 for trace in months for y in trace["y"] if y is not None)
    assert months[0]["x"] == [last_month.strftime("%Y-%m")]


def test_it_counts_a_month_only_from_a_week_of_data(client, alice, center):
    """Six days at the start of this month and five at the end of the last: neither counts."""
    with time_machine.travel(dt.datetime(2026, 12, 6, 12, tzinfo=dt.UTC), tick=False):
        patient = make_patient("P4", center=center, endocrinologists=[alice])
        load(patient, [120, 200], count=288 * 10)
        client.force_login(alice)
        page = client.get(URL).content.decode()
    assert 'id="monthly-data"' not in page
    assert "No month has a week of CGM data yet." in page


def test_it_reads_with_a_constant_number_of_queries(client, alice, center):
    client.force_login(alice)
    counts = []
    for i in range(2):
        for j in range(5 * i + 1):
            load(make_patient(f"Q{i}{j}", center=center, endocrinologists=[alice]), [120], 50)
        client.get(URL)
        with CaptureQueriesContext(connection) as queries:
            assert client.get(URL).status_code == 200
        counts.append(len(queries))
    assert counts[0] == counts[1]


def test_it_keeps_a_monthly_summary_of_each_patient(client, alice, center):
    from patients.models import Patient
    from readings.models import DailyRollup
    from workspace.models import MonthlySummary
    from workspace.population import monthly

    patient = make_patient("M1", center=center, endocrinologists=[alice])
    first = timezone.localdate().replace(day=1)
    end = dt.datetime.combine(first - dt.timedelta(days=1), dt.time(12), dt.UTC).replace(day=20)
    values = [50, 120, 200, 260]  # < 54, in range, 181–250, > 250: a quarter each
    readings_ingest(
        patient=patient,
        items=[
            Reading(
                line=i + 1,
                timestamp=end - dt.timedelta(minutes=5 * i),
                value_mg_dl=float(values[i % 4]),
                kind="cgm",
                device="cgm",
            )
            for i in range(288 * 8)
        ],
    )
    (row,) = MonthlySummary.objects.filter(patient=patient)
    assert (row.month, row.readings) == (end.date().replace(day=1), 288 * 8)
    assert row.very_low_percent == row.below_70_percent == 25.0
    assert (row.above_180_percent, row.very_high_percent, row.in_range_percent) == (50, 25, 25)
    # sample SD of 50/120/200/260 in equal parts: population variance 6318.75, × n/(n−1)
    sd = (6318.75 * 2304 / 2303) ** 0.5
    assert row.cv_percent == pytest.approx(100 * sd / 157.5, abs=1e-6)
    other = make_patient("M2", center=center, endocrinologists=[alice])
    MonthlySummary.objects.create(
        patient=other,
        month=row.month,
        readings=288 * 8,
        in_range_percent=80.0,
        below_70_percent=0.5,
        very_low_percent=0.5,
        above_180_percent=19.5,
        very_high_percent=2.0,
        cv_percent=30.0,
    )
    months = monthly(Patient.objects.all(), today=timezone.localdate(), unit="mg/dL")
    month = months.loc[end.strftime("%Y-%m")]
    assert (month["patients"], month["median_tir"]) == (2, 52.5)  # (25 + 80) / 2
    assert (month["tir"], month["below_54"], month["cv"]) == (50.0, 50.0, 50.0)
    other.delete()
    DailyRollup.objects.filter(patient=patient).delete()  # the view reads the summary only
    client.force_login(alice)
    page = client.get(URL).content.decode()
    traces = figure(page, "monthly-data")["data"]
    below_54 = next(t for t in traces if "under 1" in t["name"])
    assert below_54["x"] == [end.strftime("%Y-%m")] and below_54["y"] == [0.0]


def test_a_manual_rollup_rebuild_refreshes_the_monthly_summary(center, alice):
    """The repair tool (``rollups_rebuild``) rewrites the summaries the population view reads,
    not only the triage entry: a summary lost or wrong before the rebuild is right after it."""
    from readings.services import rollups_rebuild
    from workspace.models import MonthlySummary

    patient = make_patient("R1", center=center, endocrinologists=[alice])
    first = timezone.localdate().replace(day=1)
    end = dt.datetime.combine(first - dt.timedelta(days=1), dt.time(12), dt.UTC).replace(day=20)
    readings_ingest(
        patient=patient,
        items=[
            Reading(
                line=i + 1,
                timestamp=end - dt.timedelta(minutes=5 * i),
                value_mg_dl=60.0 if i % 2 else 120.0,
                kind="cgm",
                device="cgm",
            )
            for i in range(288 * 3)
        ],
    )
    MonthlySummary.objects.filter(patient=patient).update(readings=1, in_range_percent=99.0)
    rollups_rebuild(patient=patient)
    (row,) = MonthlySummary.objects.filter(patient=patient)
    assert (row.readings, row.in_range_percent, row.below_70_percent) == (288 * 3, 50.0, 50.0)
