"""The patient workspace: tabs with real URLs (htmx swaps only the panel), overview against
the plan's own goals, the day view, and who may see which tab."""

import datetime as dt
import json
import re

import pytest
from django.urls import reverse
from django.utils import timezone

from readings.parsers import Reading, Treatment
from readings.services import readings_ingest
from tests.conftest import make_patient

TABS = [
    "patients-detail",
    "patients-day",
    "patients-reports",
    "patients-plan",
    "patients-files",
    "patients-access",
]


def figure(page: str, element_id: str) -> dict:
    match = re.search(rf'<script id="{element_id}" type="application/json">(.*?)</script>', page)
    return json.loads(match.group(1))


def load(patient, values, *, count=3600, kind="cgm", interval=5):
    end = timezone.now().replace(second=0, microsecond=0) - dt.timedelta(minutes=1)
    readings_ingest(
        patient=patient,
        items=[
            Reading(
                line=i + 1,
                timestamp=end - dt.timedelta(minutes=interval * i),
                value_mg_dl=float(values[i % len(values)]),
                kind=kind,
                device=f"test {kind}",
            )
            for i in range(count)
        ],
    )


@pytest.mark.parametrize("name", TABS)
def test_it_serves_every_tab_as_a_page_and_as_an_htmx_panel(client, alice, patient, name):
    load(patient, [120])
    client.force_login(alice)
    url = reverse(name, args=[patient.pk])
    page = client.get(url).content.decode()
    assert "<html" in page and 'aria-current="page"' in page
    panel = client.get(url, HTTP_HX_REQUEST="true", HTTP_HX_TARGET="tab-panel")
    assert panel.status_code == 200 and "<html" not in panel.content.decode()


@pytest.mark.parametrize("name", TABS)
def test_it_refuses_outsiders_every_tab(client, bob, patient, name):
    client.force_login(bob)
    assert client.get(reverse(name, args=[patient.pk])).status_code == 404


@pytest.mark.parametrize("name", TABS[1:])
def test_it_keeps_clinical_tabs_from_staff(client, staff, patient, name):
    client.force_login(staff)
    assert client.get(reverse(name, args=[patient.pk])).status_code == 404
    overview = client.get(reverse("patients-detail", args=[patient.pk])).content.decode()
    assert "visible to the patient and their clinicians only" in overview


def test_it_shows_the_overview_against_the_patients_own_goals(client, alice, center):
    pregnant = make_patient("G1", center=center, endocrinologists=[alice], diabetes_type="GDM")
    load(pregnant, [50] + [120] * 8 + [150])
    alice.unit = "mmol/L"
    alice.save()
    client.force_login(alice)
    page = client.get(reverse("patients-detail", args=[pregnant.pk])).content.decode()
    assert "3.5–7.8 mmol/L" in page  # 63–140 mg/dL
    # The label says the plan's range in the viewer's unit (it said "Time in range 63-140").
    assert "Time in range (TIR) 3.5–7.8 mmol/L" in page and "80.0 %" in page  # 50, 150 out
    assert "63-140" not in page and "70-180" not in page
    assert 'id="agp-figure-data"' in page and 'id="tir-figure-data"' in page
    # The time-in-ranges bar beside the table counts the same range: 80 %, not the 90 % of
    # 70–180 (150 is in 70–180), label and hover the same string.
    bars = {bar["name"]: bar for bar in figure(page, "tir-figure-data")["data"]}
    assert bars["In range"]["text"] == ["80.0 %"] and "80.0 %" in bars["In range"]["hovertemplate"]
    assert bars["Low"]["text"] == ["0.0 %"] and bars["High"]["text"] == ["10.0 %"]
    # Level 2: 10 % below 3.0 mmol/L against the goal "< 1 %", in words and in the viewer's unit.
    assert "10.0 % of readings below 3.0 mmol/L; the goal is &lt; 1 %" in page


def test_it_reads_a_custom_range_as_triage_does(client, alice, center):
    """A clinician's own range 70–141: the overview's time in range is 70–141 (50 %, goal not
    met), as triage ranks it, not "Time in range 70-180 100 % ✓ met"."""
    from care_plans.services import care_plan_default_content, care_plan_revise
    from workspace.models import TriageEntry

    custom = make_patient("C1", center=center, endocrinologists=[alice], diabetes_type="T1")
    content = care_plan_default_content(patient=custom)
    content["targets"] = {**content["targets"], "preset": "custom", "range_high": 141}
    care_plan_revise(patient=custom, by=alice, reason="tighter", content=content)
    load(custom, [100, 120, 150, 160])  # in 70–141: 100, 120 → 50 %; in 70–180: 100 %
    client.force_login(alice)
    page = client.get(reverse("patients-detail", args=[custom.pk])).content.decode()
    row = re.search(r'<tr data-goal="in_range_percent">(.*?)</tr>', page, re.S).group(1)
    assert "Time in range (TIR) 70–141 mg/dL" in row and "50.0 %" in row and "not met" in row
    assert TriageEntry.objects.get(pk=custom.pk).in_range_percent == 50.0
    bars = {bar["name"]: bar for bar in figure(page, "tir-figure-data")["data"]}
    assert bars["In range"]["text"] == ["50.0 %"]


def test_it_shows_meter_only_patients_their_finger_stick_figures(client, alice, center):
    meter = make_patient("MO", center=center, endocrinologists=[alice])
    load(meter, [209], count=14, kind="smbg", interval=24 * 60)
    client.force_login(alice)
    page = client.get(reverse("patients-detail", args=[meter.pk])).content.decode()
    assert "Finger-sticks per day" in page and "209 mg/dL" in page
    assert "No CGM readings in this period" not in page


def test_it_steps_through_days_with_cgm_meter_and_treatments(client, alice, patient):
    zone = patient.tzinfo
    day = timezone.localdate(timezone.now(), zone) - dt.timedelta(days=2)
    noon = dt.datetime.combine(day, dt.time(12), zone)
    readings_ingest(
        patient=patient,
        items=[
            Reading(line=1, timestamp=noon, value_mg_dl=100.0, kind="cgm", device="G7 cgm"),
            Reading(line=2, timestamp=noon, value_mg_dl=110.0, kind="smbg", device="Contour"),
            Treatment(line=3, timestamp=noon, kind="insulin_rapid", amount=4.0, device="pen"),
        ],
    )
    client.force_login(alice)
    url = reverse("patients-day", args=[patient.pk])
    page = client.get(url, {"date": day.isoformat()}).content.decode()
    assert "G7 cgm" in page and "Contour" in page and "12:00" in page
    assert '"name":"CGM"' in page and '"name":"Finger-stick"' in page
    assert "rapid-acting insulin" in page
    assert f"date={(day - dt.timedelta(days=1)).isoformat()}" in page
    assert f"date={(day + dt.timedelta(days=1)).isoformat()}" in page
    week = client.get(url, {"date": day.isoformat(), "span": 7}).content.decode()
    assert "G7 cgm" in week
    empty = client.get(url, {"date": (day - dt.timedelta(days=1)).isoformat()}).content.decode()
    assert "No readings on these days." in empty
    assert client.get(url, {"date": "yesterday"}).status_code == 400
    assert client.get(url, {"span": "30"}).status_code == 400
    assert client.get(url, {"date": "9999-12-31"}).status_code == 400  # not a 500 (overflow)


def test_it_shows_the_patient_who_viewed_their_record(client, alice, patient):
    client.force_login(alice)
    client.get(reverse("patients-detail", args=[patient.pk]))
    client.force_login(patient.user)
    page = client.get(reverse("patients-access", args=[patient.pk])).content.decode()
    assert "alice" in page.lower() and "patient workspace" in page


def test_it_speaks_chinese_on_the_queue_workspace_and_population(client, alice, patient):
    load(patient, [50] + [120] * 9)
    alice.language = "zh-hans"
    alice.save()
    client.force_login(alice)
    client.cookies["django_language"] = "zh-hans"
    queue = client.get(reverse("patients-list"), HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "风险队列" in queue and "分诊" not in queue and "2级低血糖" in queue
    page = client.get(reverse("patients-detail", args=[patient.pk])).content.decode()
    assert "动态葡萄糖图谱 (AGP)" in page and "该患者被标记的原因" in page
    population = client.get(reverse("patients-population")).content.decode()
    assert "血糖风险指数 (GRI) 网格" in population


def _figure(page: str, element_id: str) -> dict:
    import json

    text = page.split(f'<script id="{element_id}" type="application/json">')[1]
    return json.loads(text.split("</script>")[0])


def _tir_bar_texts(figure: dict) -> dict[str, tuple[str, str]]:
    """{band name: (label on the bar, the number in its hover)}."""
    return {
        trace["name"]: (trace["text"][0], trace["hovertemplate"].split(": ")[1].split("<")[0])
        for trace in figure["data"]
    }


def test_it_shows_each_metric_as_the_same_string_on_overview_report_and_figures(
    client, alice, patient
):
    """Issue #17, values at rounding boundaries. 2000 readings every 5 minutes from 2 March:
    1 × 50 (very low 0.05 %), 80 × 60 (low 4.0 %), 1919 × 120 (in range 95.95 %).
    Worked by hand, half away from zero to the documented precision: below 70 = 81/2000 =
    4.05 % -> "4.1 %" (the flag text said "4.0 %"); in range 95.95 % -> "96.0 %" (the bar
    said "96 %"); very low 0.05 % -> "0.1 %"; GRI = 3.0 × 0.05 + 2.4 × 4.0 = 9.75 -> "9.8"
    (the overview said "10"); CGM active 2000 / 4032 five-minute slots of 14 days = 49.603 %
    -> "49.6 %" (the overview said "50 %")."""
    import time_machine

    from reports.services import report_generate
    from tests.reports.conftest import grid
    from tests.reports.conftest import load as load_at

    values = [50.0] + [60.0] * 80 + [120.0] * 1919
    with time_machine.travel(dt.datetime(2026, 3, 15, 12, tzinfo=dt.UTC), tick=False):
        load_at(patient, grid(dt.date(2026, 3, 2), 7)[:2000], values)
        report = report_generate(patient_id=patient.pk, period_end=dt.date(2026, 3, 14))
        client.force_login(alice)
        overview = client.get(reverse("patients-detail", args=[patient.pk])).content.decode()
        page = client.get(reverse("reports-detail", args=[report.pk])).content.decode()

    expected = {"In range": "96.0 %", "Low": "4.0 %", "Very low": "0.1 %"}
    overview_bar = _tir_bar_texts(_figure(overview, "tir-figure-data"))
    report_bar = _tir_bar_texts(_figure(page, "report-figures")["tir"])
    for band, text in expected.items():
        assert overview_bar[band] == (text, text)
        assert report_bar[band] == (text, text)
    # GRI and CGM active: the same string on the overview and the report.
    assert "<dd>9.8 (A)</dd>" in overview
    gri_row = page.split('data-metric="gri"')[1].split("</tr>")[0]
    assert "9.8 <span" in gri_row
    assert "49.6 %" in overview and "49.6 %" in page.split('id="sufficiency"')[1][:300]
    # Time below 70: the goals tables and the flag explaining it.
    assert "4.1 % of readings below 70 mg/dL" in overview
    below = page.split('data-goal="below_70_percent"')[1].split("</tr>")[0]
    assert "4.1 %" in below
    assert "4.0 %" not in overview.split('id="flags-title"')[1].split("</section>")[0]


def test_it_rounds_once_so_the_overview_flag_and_report_agree(client, alice, patient):
    """100 of 2472 readings at 60 mg/dL: below 70 = 4.0453 % -> "4.0 %" rounded once. Rounded
    first to 2 decimals (4.05) and again on the page, the overview's goals table said "4.1 %"
    beside a report (and a flag) saying "4.0 %". GRI = 2.4 × 4.0453 = 9.709 -> "9.7"."""
    import time_machine

    from reports.services import report_generate
    from tests.reports.conftest import grid
    from tests.reports.conftest import load as load_at

    values = [60.0] * 100 + [120.0] * 2372
    with time_machine.travel(dt.datetime(2026, 3, 15, 12, tzinfo=dt.UTC), tick=False):
        load_at(patient, grid(dt.date(2026, 3, 2), 9)[:2472], values)
        report = report_generate(patient_id=patient.pk, period_end=dt.date(2026, 3, 14))
        client.force_login(alice)
        overview = client.get(reverse("patients-detail", args=[patient.pk])).content.decode()
        page = client.get(reverse("reports-detail", args=[report.pk])).content.decode()
    assert "4.1 %" not in overview and "4.1 %" not in page
    assert "4.0 % of readings below 70 mg/dL" in overview
    assert "4.0 %" in page.split('data-goal="below_70_percent"')[1].split("</tr>")[0]
    assert "<dd>9.7 (A)</dd>" in overview
    assert "9.7 <span" in page.split('data-metric="gri"')[1].split("</tr>")[0]


def test_it_says_when_the_last_reading_came_in_the_patients_clock(client, alice, center):
    """'No readings since …' read '2026-12-01 10:00' in the server's zone, unnamed; it now
    says the patient's time in the language's date format, with the zone."""
    import time_machine

    far = make_patient("Z1", center=center, endocrinologists=[alice], timezone="Asia/Shanghai")
    last = dt.datetime(2026, 12, 1, 2, tzinfo=dt.UTC)  # 10:00 in Shanghai
    with time_machine.travel(last + dt.timedelta(minutes=1), tick=False):
        load(far, [120], count=12)
    with time_machine.travel(last + dt.timedelta(days=5), tick=False):
        from workspace.triage import triage_refresh

        triage_refresh(patient_ids=[far.pk])
        client.force_login(alice)
        page = client.get(reverse("patients-detail", args=[far.pk])).content.decode()
    assert "No readings since 1 Dec 2026 10:00 (Asia/Shanghai)" in page
