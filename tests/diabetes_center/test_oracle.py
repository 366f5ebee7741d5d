"""The oracle: every page that shows a goal says the same thing as the metrics API passed
through the display layer, for every role, unit and language — and, for three patients, the
strings a person reads are written out by hand, so a fault in the display layer itself shows.

Four patients share one trace: eight values repeated every 40 minutes over 13 whole days (so
each value is exactly 12.5 % of the readings): 50, 60, 100, 120, 150, 170, 200, 260 mg/dL.

| patient         | range  | in range     | below range | < 54   | above range   | > 250  |
|-----------------|--------|--------------|-------------|--------|---------------|--------|
| standard (T1)   | 70–180 | 4 of 8: 50 % | 2 of 8: 25 % | 12.5 % | 2 of 8: 25 % | 12.5 % |
| pregnancy (GDM) | 63–140 | 2 of 8: 25 % | 2 of 8: 25 % | 12.5 % | 4 of 8: 50 % | —      |
| older (T2, 77)  | 70–180 | 50 %, goal > 50: not met | 25 % | —  | —            | 12.5 % |
| custom (70–141) | 70–141 | 2 of 8: 25 % | 2 of 8: 25 % | 12.5 % | 4 of 8: 50 % | 12.5 % |
"""

import datetime as dt
import html
import io
import re

import pytest
import time_machine
from django.urls import reverse

from accounts import display
from care_plans.services import care_plan_default_content, care_plan_revise
from readings.parsers import Reading
from readings.services import readings_ingest
from reports.services import report_generate
from tests.conftest import make_patient, make_user

NOW = dt.datetime(2027, 1, 15, 0, 0, 30, tzinfo=dt.UTC)
FIRST = dt.datetime(2027, 1, 2, tzinfo=dt.UTC)
TRACE = (50, 60, 100, 120, 150, 170, 200, 260)
ROW = re.compile(
    r'<tr data-goal="(\w+)"><td>(.*?)</td><td class="num"[^>]*>(.*?)</td>'
    r'<td class="num"[^>]*>(.*?)</td>',
    re.S,
)


def _text(fragment: str) -> str:
    return html.unescape(re.sub(r"<[^>]+>", "", fragment)).strip()


def goal_table(page: str) -> dict[str, tuple[str, str, str]]:
    """{key: (label, value, goal)} of a page's goals table."""
    return {key: (_text(a), _text(b), _text(c)) for key, a, b, c in ROW.findall(page)}


@pytest.fixture
def clinic(center, alice):
    with time_machine.travel(NOW, tick=False):
        people = {
            "standard": make_patient("S1", center=center, endocrinologists=[alice]),
            "pregnancy": make_patient(
                "G1", center=center, endocrinologists=[alice], diabetes_type="GDM"
            ),
            "older": make_patient(
                "O1",
                center=center,
                endocrinologists=[alice],
                diabetes_type="T2",
                birth_date=dt.date(1950, 1, 1),
            ),
            "custom": make_patient("C1", center=center, endocrinologists=[alice]),
        }
        for name, patient in people.items():
            content = care_plan_default_content(patient=patient)
            if name == "custom":
                content["targets"] = {**content["targets"], "preset": "custom", "range_high": 141}
            care_plan_revise(patient=patient, by=alice, reason="start", content=content)
            steps = 13 * 288
            readings_ingest(
                patient=patient,
                items=[
                    Reading(
                        line=i + 1,
                        timestamp=FIRST + dt.timedelta(minutes=5 * i),
                        value_mg_dl=float(TRACE[i % len(TRACE)]),
                        kind="cgm",
                        device="oracle cgm",
                    )
                    for i in range(steps)
                ],
            )
            report_generate(patient_id=patient.pk)  # and the unread-list entries
        yield people


# Written by hand from the table above, in the reader's unit and language.
BY_HAND = {
    ("standard", "mg/dL", "en"): {
        "in_range_percent": ("Time in range (TIR) 70–180 mg/dL", "50.0 %", "> 70 %"),
        "below_70_percent": ("Time below 70 mg/dL (TBR)", "25.0 %", "< 4 %"),
        "very_low_percent": ("Time below 54 mg/dL (level 2 hypoglycemia)", "12.5 %", "< 1 %"),
        "above_180_percent": ("Time above 180 mg/dL (TAR)", "25.0 %", "< 25 %"),
        "very_high_percent": ("Time above 250 mg/dL (TAR)", "12.5 %", "< 5 %"),
        # Mean 1110 / 8 = 138.75; SD (n - 1) = 66.6; CV = 48.0 %.
        "cv_percent": ("Coefficient of variation (CV)", "48.0 %", "≤ 36 %"),
    },
    ("pregnancy", "mmol/L", "zh-hans"): {
        "in_target_percent": ("葡萄糖目标范围内时间 (TIR) 3.5–7.8 mmol/L", "25.0 %", "> 70 %"),
        "below_target_percent": ("葡萄糖低于 3.5 mmol/L 的时间 (TBR)", "25.0 %", "< 4 %"),
        "very_low_percent": ("葡萄糖低于 3.0 mmol/L 的时间（2 级低血糖）", "12.5 %", "< 1 %"),
        "above_target_percent": ("葡萄糖高于 7.8 mmol/L 的时间 (TAR)", "50.0 %", "< 25 %"),
    },
    ("custom", "mmol/L", "en"): {
        "in_range_percent": ("Time in range (TIR) 3.9–7.8 mmol/L", "25.0 %", "> 70 %"),
        "below_70_percent": ("Time below 3.9 mmol/L (TBR)", "25.0 %", "< 4 %"),
        "above_180_percent": ("Time above 7.8 mmol/L (TAR)", "50.0 %", "< 25 %"),
        "very_low_percent": ("Time below 3.0 mmol/L (level 2 hypoglycemia)", "12.5 %", "< 1 %"),
        "very_high_percent": ("Time above 13.9 mmol/L (TAR)", "12.5 %", "< 5 %"),
        "cv_percent": ("Coefficient of variation (CV)", "48.0 %", "≤ 36 %"),
    },
    ("older", "mg/dL", "en"): {
        "in_range_percent": ("Time in range (TIR) 70–180 mg/dL", "50.0 %", "> 50 %"),
        "below_70_percent": ("Time below 70 mg/dL (TBR)", "25.0 %", "< 1 %"),
        "very_high_percent": ("Time above 250 mg/dL (TAR)", "12.5 %", "< 10 %"),
    },
}


def expected(client, patient, unit: str) -> dict[str, tuple[str, str, str]]:
    """The metrics API's goals through the display layer (labels in ``unit``)."""
    body = client.get(f"/api/v1/patients/{patient.pk}/metrics/").json()
    rows = display.goal_rows(body["goals"], body["targets"], unit)
    return {r["key"]: (r["label"], r["value_text"], r["goal_text"]) for r in rows}


def goal_met(report, key: str) -> bool:
    return next(g["met"] for g in report.goals if g["key"] == key) is not False


def set_viewer(user, unit: str, language: str) -> None:
    user.unit, user.language = unit, language
    user.save()


@pytest.mark.parametrize("unit", ["mg/dL", "mmol/L"])
@pytest.mark.parametrize("language", ["en", "zh-hans"])
@pytest.mark.parametrize("who", ["alice", "admin_user"])
@time_machine.travel(NOW, tick=False)
def test_every_clinician_page_says_what_the_api_says(request, client, clinic, who, unit, language):
    viewer = request.getfixturevalue(who)  # the patients' endocrinologist, an admin
    set_viewer(viewer, unit, language)
    client.force_login(viewer)
    triage = client.get(reverse("patients-list")).content.decode()
    for name, patient in clinic.items():
        want = expected(client, patient, unit)
        overview = client.get(reverse("patients-detail", args=[patient.pk])).content.decode()
        report = patient.reports.get()
        detail = client.get(reverse("reports-detail", args=[report.pk])).content.decode()
        assert goal_table(overview) == want, (name, "overview")
        # The report's period holds the same readings (13 whole days ending yesterday).
        assert {k: v for k, v in goal_table(detail).items() if k in want} == want, name
        if (name, unit, language) in BY_HAND:
            assert want == BY_HAND[(name, unit, language)], name
        # Triage shows the plan-range time in range, rounded the same way.
        row = re.search(rf'id="triage-row-{patient.pk}".*?</tr>', triage, re.S).group(0)
        tir = want.get("in_range_percent") or want["in_target_percent"]
        assert re.search(rf'data-label="TIR">{re.escape(tir[1])}', row), (name, tir)
        # The unread list names the goals the report did not meet, with the same labels.
        if who == "alice":
            unread = client.get(reverse("reports-unread")).content.decode()
            missed = {label for key, (label, _v, _g) in want.items() if not goal_met(report, key)}
            row = unread.split(patient.name)[1].split("</tr>")[0]
            assert set(map(_text, re.findall(r'class="flag flag-low">(.*?)</span>', row))) == (
                missed
            ), name
        pdf = client.get(reverse("reports-pdf", args=[report.pk]))
        text = pdf_text(pdf.content)
        for _label, value, goal in want.values():
            assert value in text and goal in text, (name, "pdf", value, goal)


@pytest.mark.parametrize("unit", ["mg/dL", "mmol/L"])
@pytest.mark.parametrize("language", ["en", "zh-hans"])
@time_machine.travel(NOW, tick=False)
def test_the_patient_reads_the_same_figures(client, center, clinic, unit, language):
    for name, patient in clinic.items():
        user = make_user(f"p-{name}", "patient", center)
        patient.user = user
        patient.save()
        set_viewer(user, unit, language)
        client.force_login(user)
        want = expected(client, patient, unit)
        for url in ("/", reverse("my-glucose")):  # home and My glucose
            page = client.get(url).content.decode()
            figures = dict(
                re.findall(r'data-goal="(\w+)">.*?<span class="figure">(.*?)</span>', page, re.S)
            )
            assert figures, (name, url)
            assert figures == {key: want[key][1] for key in figures}, (name, url)


@time_machine.travel(NOW, tick=False)
def test_staff_read_no_figures(client, staff, clinic):
    client.force_login(staff)
    for patient in clinic.values():
        page = client.get(reverse("patients-detail", args=[patient.pk])).content.decode()
        assert goal_table(page) == {} and "12.5 %" not in page


def pdf_text(content: bytes) -> str:
    from pypdf import PdfReader

    return " ".join(page.extract_text() for page in PdfReader(io.BytesIO(content)).pages)
