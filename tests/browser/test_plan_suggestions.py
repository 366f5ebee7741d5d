"""Issue #21 end to end in Chromium: a report's suggestion opens the plan editor prefilled,
the clinician confirms a new version, the report then links that version; another suggestion
is dismissed with a reason."""

import datetime as dt

import pytest

from care_plans.services import care_plan_current
from diabetes_center.demo_suggestions import CASES, seed_case
from reports.services import report_generate
from tests.browser.conftest import assert_accessible, sign_in
from tests.conftest import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

LOW_BLOCKS_INCREASE = CASES[1]  # night-time lows: lower the basal; the increase is blocked


def test_a_suggestion_becomes_a_plan_version_and_another_is_dismissed(
    page, live_server, alice, patient
):
    patient.diabetes_type = "T2"
    patient.save(update_fields=["diabetes_type"])
    start = dt.date.today() - dt.timedelta(days=17)
    seed_case(LOW_BLOCKS_INCREASE, patient, author=alice, start=start, days=18, seed=1)
    report = report_generate(patient_id=patient.pk, notify=False)
    decrease = report.suggestions.get(kind="basal_decrease")
    blocked = report.suggestions.get(kind="basal_increase")
    dose = decrease.proposed_change["medications.0.dose"]

    sign_in(page, live_server, "alice", PASSWORD)
    # The suggestions fit a phone (390 px) without sideways scrolling and pass axe-core.
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"{live_server.url}/reports/{report.pk}/")
    page.wait_for_load_state("networkidle")
    page.locator(f"#suggestion-{blocked.pk} summary:has-text('Dismiss')").click()
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
    assert_accessible(page)
    page.set_viewport_size({"width": 1366, "height": 900})
    page.goto(f"{live_server.url}/reports/{report.pk}/")
    card = page.locator(f"#suggestion-{decrease.pk}")
    assert "Lower the basal insulin" in card.inner_text()
    assert page.locator(f"#suggestion-{blocked.pk} >> text=Use this suggestion").count() == 0
    card.locator("text=Use this suggestion").click()
    page.wait_for_load_state("networkidle")
    assert page.input_value("[name=med-0-dose]").rstrip("0").rstrip(".") == str(dose["to"])
    assert care_plan_current(patient=patient).number == 1  # nothing applied by itself
    page.fill("[name=reason]", "Night-time lows: basal down as suggested.")
    page.click("text=Review changes")
    page.wait_for_selector("text=Save this version")
    with page.expect_navigation():
        page.click("text=Save this version")
    assert "Care plan version 2 saved." in page.content()
    version = care_plan_current(patient=patient)
    assert version.content["medications"][0]["dose"] == dose["to"]
    assert version.prompted_by == decrease and version.responds_to_report_id == report.pk

    page.goto(f"{live_server.url}/reports/{report.pk}/")
    prompted = page.locator("#prompted-versions").inner_text()
    assert "Night-time lows: basal down as suggested." in prompted
    assert "accepted" in page.locator(f"#suggestion-{decrease.pk}").inner_text()

    other = page.locator(f"#suggestion-{blocked.pk}")
    other.locator("summary:has-text('Dismiss')").click()
    other.locator("textarea[name=reason]").fill("Lows first; revisit titration next report.")
    with page.expect_navigation():
        other.locator("button:has-text('Dismiss this suggestion')").click()
    text = page.locator(f"#suggestion-{blocked.pk}").inner_text()
    assert "Dismissed by" in text and "Lows first; revisit titration next report." in text
    blocked.refresh_from_db()
    decrease.refresh_from_db()
    assert (blocked.state, decrease.state) == ("dismissed", "accepted")
