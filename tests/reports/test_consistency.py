"""One report, three renderings (HTML page, PDF text, API JSON): the same figures, goals and
event times in each — a pregnancy plan read in mmol/L in Chinese, and a standard plan read
in mg/dL in English. Expected numbers are worked out here from the synthetic readings with
plain numpy and Decimal rounding, not taken from the code under test."""

import datetime as dt
import html as htmllib
import io
import re
import zoneinfo
from decimal import ROUND_HALF_UP, Decimal

import numpy as np
import pytest
from django.urls import reverse

from care_plans.services import care_plan_default_content, care_plan_revise
from reports.services import report_generate
from tests.reports.conftest import load

pytestmark = pytest.mark.django_db

MMOL = 18.01559


def r(x, places):
    return float(Decimal(repr(float(x))).quantize(Decimal(1).scaleb(-places), ROUND_HALF_UP))


def pct(x):
    return f"{r(x, 1):.1f} %"


def local_grid(tz, start, days):
    """UTC epoch seconds of every 5 minutes of `days` local days from `start`."""
    zone = zoneinfo.ZoneInfo(tz)
    first = dt.datetime.combine(start, dt.time(), zone).timestamp()
    return first + 300 * np.arange(days * 288)


def minute_of_day(seconds, tz):
    zone = zoneinfo.ZoneInfo(tz)
    return np.array(
        [
            dt.datetime.fromtimestamp(s, zone).hour * 60 + dt.datetime.fromtimestamp(s, zone).minute
            for s in seconds
        ]
    )


def pdf_text(content: bytes) -> str:
    from pypdf import PdfReader

    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(content)).pages)


def squash(text: str) -> str:
    return re.sub(r"\s+", " ", text)


def expected_bands(v, low, high):
    n = v.size
    return {
        "very_low": 100 * np.count_nonzero(v < 54) / n,
        "below": 100 * np.count_nonzero(v < low) / n,
        "in": 100 * np.count_nonzero((v >= low) & (v <= high)) / n,
        "above": 100 * np.count_nonzero(v > high) / n,
        "very_high": 100 * np.count_nonzero(v > 250) / n,
        "mean": float(v.mean()),
        "cv": 100 * float(v.std(ddof=1)) / float(v.mean()),
    }


@pytest.fixture
def standard_report(patient, alice):
    """Bucharest, type 1, standard plan, 14 days; one low from 00:45 to 02:05 local."""
    patient.timezone = "Europe/Bucharest"
    patient.save()
    care_plan_revise(
        patient=patient,
        by=alice,
        reason="start",
        content=care_plan_default_content(patient=patient),
    )
    start = dt.date(2026, 3, 1)
    t = local_grid(patient.timezone, start, 14)
    minute = minute_of_day(t, patient.timezone)
    v = np.full(t.size, 130.0)
    v[(minute >= 14 * 60) & (minute < 17 * 60)] = 215.0  # afternoons high
    v[(minute >= 17 * 60) & (minute < 17 * 60 + 20)] = 265.0
    night = dt.datetime(2026, 3, 10, 0, 45, tzinfo=zoneinfo.ZoneInfo(patient.timezone))
    low = (t >= night.timestamp()) & (t < night.timestamp() + 80 * 60)
    v[low] = 50.0
    v[::7] += 7  # some spread
    load(patient, t, v)
    report = report_generate(patient_id=patient.pk, period_end=dt.date(2026, 3, 14))
    return report, v, ["2026-03-10 00:45"]


@pytest.fixture
def pregnancy_report(center, alice):
    """Shanghai, GDM on CGM, pregnancy plan (63-140, weekly), overnight lows 02:00-02:30."""
    from tests.conftest import make_patient

    patient = make_patient(
        "MRN-GDM",
        center=center,
        endocrinologists=[alice],
        diabetes_type="GDM",
        timezone="Asia/Shanghai",
        birth_date=dt.date(1992, 5, 1),
    )
    content = care_plan_default_content(patient=patient)
    content["monitoring"] = {**content["monitoring"], "mode": "cgm", "cgm_wear_goal_percent": 70}
    care_plan_revise(patient=patient, by=alice, reason="pregnancy", content=content)
    start = dt.date(2026, 3, 8)
    t = local_grid(patient.timezone, start, 7)
    minute = minute_of_day(t, patient.timezone)
    v = np.full(t.size, 110.0)
    v[(minute >= 12 * 60) & (minute < 15 * 60)] = 160.0  # above 140, inside 70-180
    v[(minute >= 120) & (minute < 150)] = 58.0  # nightly lows below 63 (and below 70)
    v[::5] += 4
    load(patient, t, v)
    report = report_generate(patient_id=patient.pk, period_end=dt.date(2026, 3, 14))
    events = [f"2026-03-{d:02d} 02:00" for d in range(8, 15)]
    return report, v, events


def _render(client, report, unit, language):
    client.cookies["django_language"] = language
    html = client.get(reverse("reports-detail", args=[report.pk]) + f"?unit={unit}")
    pdf = client.get(reverse("reports-pdf", args=[report.pk]) + f"?unit={unit}")
    api = client.get(f"/api/v1/reports/{report.pk}/")
    assert html.status_code == pdf.status_code == api.status_code == 200
    return (
        squash(htmllib.unescape(html.content.decode())),
        squash(pdf_text(pdf.content)),
        api.json(),
    )


def _check(report, v, events, *, unit, language, client, low, high, tir_goal):
    e = expected_bands(v, low, high)
    html, pdf, api = _render(client, report, unit, language)
    tz = report.patient.timezone
    # Goals: the same value, goal and verdict everywhere.
    goals = {g["key"]: g for g in api["goals"]}
    in_key = "in_range_percent" if (low, high) == (70, 180) else "in_target_percent"
    assert r(goals[in_key]["value"], 1) == r(e["in"], 1)
    assert goals[in_key]["target"] == tir_goal
    for text in (html, pdf):
        assert pct(e["in"]) in text
        assert pct(e["very_low"]) in text
        assert f"> {tir_goal:g} %" in text
    # The TIR bar's legend uses the plan's range and goal (not 70-180 / > 70 % for everyone).
    legend = re.search(r'<li data-band="in_range">(.*?)</li>', html).group(1)
    assert pct(e["in"]) in legend and f"> {tir_goal:g} %" in legend
    if unit == "mmol/L":
        band = f"{r(low / MMOL, 1):.1f}–{r(high / MMOL, 1):.1f} mmol/L"
    else:
        band = f"{low}–{high} mg/dL"
    assert band in legend and band in pdf
    # Met / not met agree with the shown value in the API, the page and the PDF.
    for key, goal in goals.items():
        row = re.search(rf'<tr data-goal="{key}">(.*?)</tr>', html).group(1)
        assert pct(goal["value"]) in row
        assert ("not-met" in row) is (goal["met"] is False)
    # Mean glucose and CV, rounded one way.
    mean = (
        f"{r(e['mean'] / MMOL, 1):.1f} mmol/L"
        if unit == "mmol/L"
        else f"{r(e['mean'], 0):.0f} mg/dL"
    )
    assert r(api["metrics"]["mean_mg_dl"], 1) == r(e["mean"], 1)
    assert mean in html and mean in pdf
    assert pct(e["cv"]) in html and pct(e["cv"]) in pdf
    # Event times: the patient's local time, zone named; the API keeps ISO 8601 with offset.
    api_starts = [
        dt.datetime.fromisoformat(x["start"])
        .astimezone(zoneinfo.ZoneInfo(tz))
        .strftime("%Y-%m-%d %H:%M")
        for x in api["metrics"]["hypo_events"]
    ]
    assert all(re.search(r"[+-]\d\d:\d\d$|Z$", x["start"]) for x in api["metrics"]["hypo_events"])
    for when in events:
        assert when in api_starts
        assert when in html and when in pdf
    assert tz in html and tz in pdf
    return html, pdf, api


def test_it_tells_the_same_standard_report_in_mg_dl_in_english(client, alice, standard_report):
    report, v, events = standard_report
    client.force_login(alice)
    html, pdf, api = _check(
        report,
        v,
        events,
        unit="mg/dL",
        language="en",
        client=client,
        low=70,
        high=180,
        tir_goal=70,
    )
    # The UTC time of the low (22:45 the evening before) appears nowhere.
    assert "2026-03-09 22:45" not in html and "2026-03-09 22:45" not in pdf
    assert "(UTC)" not in pdf


def test_it_tells_the_same_pregnancy_report_in_mmol_in_chinese(client, alice, pregnancy_report):
    report, v, events = pregnancy_report
    alice.unit = "mmol/L"
    alice.save()
    client.force_login(alice)
    html, pdf, api = _check(
        report,
        v,
        events,
        unit="mmol/L",
        language="zh-hans",
        client=client,
        low=63,
        high=140,
        tir_goal=70,
    )
    assert "健康报告" in html and "健康报告" in pdf
    # 70-180 % must not be shown as the time in range of a 63-140 plan.
    tir_70_180 = pct(100 * np.count_nonzero((v >= 70) & (v <= 180)) / v.size)
    legend = re.search(r'<li data-band="in_range">(.*?)</li>', html).group(1)
    assert tir_70_180 not in legend
    # A weekly report is judged against its own 7-day period, and says so.
    assert api["metrics"]["sufficient"] is True
    assert 'class="sufficient-no"' not in html
