"""Issue #13 in the browser: the endocrinologist's, the staff's and the patient's pages at a
laptop (1,366 px) and a phone (390 px) width: no sideways scrolling, no WCAG 2 AA violation
(axe-core), and a screenshot of each under var/test-output/screenshots/ to look at."""

import datetime as dt
from pathlib import Path

import pytest

from care_plans.demo import seed_plans
from reports.services import report_generate
from tests.browser.conftest import assert_accessible, open_all_week_with_a_visit, sign_in
from tests.browser.test_care_plan_loop import load_cgm
from tests.conftest import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SCREENSHOTS = Path(__file__).resolve().parents[2] / "var" / "test-output" / "screenshots"
WIDTHS = (1366, 390)


@pytest.fixture
def clinic(alice, staff, patient):
    end = dt.date.today() - dt.timedelta(days=1)
    load_cgm(patient, start=end - dt.timedelta(days=13), days=14)
    seed_plans([patient], [alice])
    report = report_generate(patient_id=patient.pk, period_end=end)
    report.message_set(text="Keep going: fewer lows this fortnight.", by=alice)
    open_all_week_with_a_visit(  # free slots and a booked visit on the visits pages
        clinician=alice, staff=staff, patient=patient, on=end + dt.timedelta(days=2)
    )
    return {"patient": patient.pk, "report": report.pk}


def check(page, live_server, path, name, width):
    page.set_viewport_size({"width": width, "height": 900})
    page.goto(f"{live_server.url}{path}")
    page.wait_for_load_state("networkidle")
    overflow = page.evaluate(
        "document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}-{width}.png"), full_page=True)
    assert overflow <= 0, f"{path} scrolls sideways by {overflow} px at {width} px"
    assert_accessible(page)


@pytest.mark.parametrize("width", WIDTHS)
def test_it_fits_the_endocrinologists_pages(page, live_server, clinic, width):
    sign_in(page, live_server, "alice", PASSWORD)
    check(page, live_server, f"/reports/{clinic['report']}/", "report-clinician", width)
    check(page, live_server, f"/patients/{clinic['patient']}/care-plan/", "plan-editor", width)
    check(page, live_server, "/reports/unread/", "unread", width)
    check(page, live_server, "/patients/", "triage", width)
    check(page, live_server, "/patients/population/", "population", width)
    patient = clinic["patient"]
    check(page, live_server, f"/patients/{patient}/", "workspace-overview", width)
    check(page, live_server, f"/patients/{patient}/day/", "workspace-day", width)
    check(page, live_server, f"/patients/{patient}/visits/", "workspace-visits", width)


@pytest.mark.parametrize("width", WIDTHS)
def test_it_fits_the_staff_pages(page, live_server, clinic, width):
    sign_in(page, live_server, "sam", PASSWORD)
    check(page, live_server, "/", "home-staff", width)
    check(page, live_server, "/visits/", "calendar-day", width)
    check(page, live_server, "/visits/?view=week", "calendar-week", width)
    check(page, live_server, "/visits/worklist/", "worklist", width)
    check(page, live_server, f"/visits/book/?patient={clinic['patient']}", "booking", width)


@pytest.mark.parametrize("width", WIDTHS)
def test_it_fits_the_patients_pages(page, live_server, clinic, width):
    sign_in(page, live_server, "pat", PASSWORD)
    check(page, live_server, "/", "home-patient", width)
    assert page.locator("#lay-goals li").count() >= 3
    assert "Keep going" in page.content()
    check(page, live_server, f"/reports/{clinic['report']}/", "report-patient", width)
    check(page, live_server, f"/patients/{clinic['patient']}/care-plan/", "plan-patient", width)
    check(page, live_server, "/my/glucose/", "my-glucose", width)
    assert page.locator("#lay-goals li").count() >= 3
    assert page.locator("[data-figure=agp-figure-data] .main-svg").count() >= 1  # drawn
    check(page, live_server, "/my/glucose/?span=7", "my-glucose-week", width)
    check(page, live_server, f"/patients/{clinic['patient']}/uploads/", "uploads-patient", width)
    check(page, live_server, f"/patients/{clinic['patient']}/access/", "access-patient", width)
