"""Issue #6 end to end: a report prompts a plan change in the browser; the patient sees the new
plan; the next report is judged against the new targets."""

import datetime as dt

import pytest

from care_plans.demo import seed_plans
from care_plans.services import care_plan_current
from readings.parsers import Reading
from readings.services import readings_ingest
from readings.simulate import CgmProfile, cgm_trace
from reports.services import report_generate
from tests.browser.conftest import sign_in
from tests.conftest import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def load_cgm(patient, *, start, days):
    seconds, values, flags = cgm_trace(
        CgmProfile(mean=140), start=start, days=days, tz=patient.timezone, seed=4
    )
    readings_ingest(
        patient=patient,
        items=(
            Reading(
                line=n + 1,
                timestamp=dt.datetime.fromtimestamp(int(s), dt.UTC),
                value_mg_dl=float(v),
                kind="cgm",
                device="G6",
                flag=flag,
            )
            for n, (s, v, flag) in enumerate(zip(seconds, values, flags, strict=True))
        ),
    )


def test_it_closes_the_loop_from_report_to_plan_to_next_report(page, live_server, alice, patient):
    first_end = dt.date.today() - dt.timedelta(days=15)
    load_cgm(patient, start=first_end - dt.timedelta(days=27), days=42)
    seed_plans([patient], [alice])
    report = report_generate(patient_id=patient.pk, period_end=first_end)
    assert report.targets["range_high"] == 180

    sign_in(page, live_server, "alice", PASSWORD)
    page.goto(f"{live_server.url}/reports/{report.pk}/")
    page.click("text=Revise the care plan in response to this report")
    page.wait_for_load_state("networkidle")
    assert f"report #{report.pk}" in page.content()
    with page.expect_response(lambda response: "/care-plan/targets/" in response.url):
        page.select_option("select[name=preset]", "pregnancy_t1")
    page.wait_for_function("document.querySelector('input[name=range_high]').value === '140'")
    page.fill("[name=reason]", "Pregnancy confirmed: tighter range.")
    page.click("text=Review changes")
    page.wait_for_selector("text=Save this version")
    diff = page.locator("#care-plan-editor").inner_text()
    assert "140" in diff and "180" in diff  # the target change is shown before saving
    before = care_plan_current(patient=patient).number
    with page.expect_navigation():  # htmx answers with a client redirect to the plan page
        page.click("text=Save this version")
    assert f"Care plan version {before + 1} saved." in page.content()

    version = care_plan_current(patient=patient)
    assert version.responds_to_report_id == report.pk
    assert (version.content["targets"]["range_low"], version.content["targets"]["range_high"]) == (
        63,
        140,
    )
    page.goto(f"{live_server.url}/patients/{patient.pk}/care-plan/history/")
    history = page.locator("main").inner_text()
    assert "Pregnancy confirmed: tighter range." in history
    assert page.locator(f"a[href='/reports/{report.pk}/']").count() >= 1

    page.context.clear_cookies()
    sign_in(page, live_server, "pat", PASSWORD)
    page.goto(f"{live_server.url}/patients/{patient.pk}/care-plan/")
    assert "63" in page.locator("main").inner_text()

    later = report_generate(patient_id=patient.pk, period_end=first_end + dt.timedelta(days=14))
    assert later.care_plan_version_id == version.pk
    assert (later.targets["range_low"], later.targets["range_high"]) == (63, 140)
    assert "in_target_percent" in {goal["key"] for goal in later.goals}


def test_a_mmol_clinician_saves_a_pregnancy_plan_exactly(page, live_server, alice, center):
    """Issue #17 §2 in the browser: the pregnancy plan (63–140 mg/dL) shown 3.5–7.8 mmol/L,
    the unit switched to mg/dL and back, only exercise changed: 140 stays 140 (not 141), the
    preset stays pregnancy, and the review step lists exercise only; saved again unchanged,
    the page says nothing changed."""
    from care_plans.models import CarePlanVersion
    from care_plans.services import care_plan_default_content, care_plan_revise
    from tests.conftest import make_patient

    patient = make_patient("MRN-GDM", center=center, endocrinologists=[alice], diabetes_type="GDM")
    content = care_plan_default_content(patient=patient)
    care_plan_revise(patient=patient, by=alice, reason="First plan", content=content)
    alice.unit = "mmol/L"
    alice.save()

    sign_in(page, live_server, "alice", PASSWORD)
    page.goto(f"{live_server.url}/patients/{patient.pk}/care-plan/")
    high = page.locator("input[name=range_high]")
    assert high.input_value() == "7.8"
    assert page.locator("input[name=range_low]").input_value() == "3.5"
    for unit, shown in (("mg/dL", "140"), ("mmol/L", "7.8")):
        with page.expect_response(lambda response: "/care-plan/targets/" in response.url):
            page.select_option("select[name=unit]", unit)
        page.wait_for_function(
            f"document.querySelector('input[name=range_high]').value === '{shown}'"
        )
    assert page.locator("select[name=preset]").input_value() == "pregnancy_t1"
    page.fill("[name=exercise_minutes_per_week]", "200")
    page.fill("[name=reason]", "More walking")
    page.click("text=Review changes")
    page.wait_for_selector("text=Save this version")
    rows = page.locator("#care-plan-editor table.diff tbody tr")
    assert rows.count() == 1 and "Exercise" in rows.inner_text()
    with page.expect_navigation():
        page.click("text=Save this version")
    second = CarePlanVersion.objects.get(plan__patient=patient, number=2)
    assert (second.content["targets"]["range_high"], second.content["targets"]["preset"]) == (
        140,
        "pregnancy_t1",
    )
    assert second.content["exercise"]["minutes_per_week"] == 200

    page.fill("[name=reason]", "Saved again")
    page.click("text=Review changes")
    page.wait_for_selector("text=Nothing changed: this is the same as version 2.")
    assert CarePlanVersion.objects.filter(plan__patient=patient).count() == 2
