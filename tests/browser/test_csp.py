"""The Content-Security-Policy in a real browser: pages work with it on, and the console shows
no violation (the shared ``page`` fixture bypasses CSP for axe-core; this one does not)."""

import datetime as dt

import pytest

from readings.parsers import Reading
from readings.services import readings_ingest
from readings.simulate import CgmProfile, cgm_trace
from reports.services import report_generate
from tests.conftest import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def strict_page(browser):
    context = browser.new_context(locale="en-US")  # CSP enforced
    page = context.new_page()
    page.set_default_timeout(15_000)
    page.violations = []
    page.on(
        "console",
        lambda message: (
            "Content Security Policy" in message.text and page.violations.append(message.text)
        ),
    )
    page.on("pageerror", lambda error: page.violations.append(f"page error: {error}"))
    yield page
    context.close()


def _load(patient, end: dt.date) -> None:
    seconds, values, flags = cgm_trace(
        CgmProfile(mean=150), start=end - dt.timedelta(days=13), days=14, tz="UTC", seed=2
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


def _open(page, url: str) -> None:
    response = page.goto(url)
    assert response.status == 200, url
    assert "script-src 'self'" in response.headers["content-security-policy"]
    page.wait_for_load_state("networkidle")


def test_it_runs_every_script_under_the_policy(strict_page, live_server, alice, patient):
    page = strict_page
    end = dt.date.today() - dt.timedelta(days=2)
    _load(patient, end)
    report = report_generate(patient_id=patient.pk, period_end=end)
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("#id_username", "alice")
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit].primary")
    page.wait_for_load_state("networkidle")

    _open(page, f"{live_server.url}/patients/{patient.pk}/")
    page.wait_for_selector("[data-figure] .main-svg")  # Plotly drew from the JSON data
    _open(page, f"{live_server.url}/patients/{patient.pk}/files/")
    page.wait_for_selector("#glucose-chart .main-svg")
    _open(page, f"{live_server.url}/reports/{report.pk}/")
    for name in ("tir", "agp", "daily"):
        page.wait_for_selector(f"#fig-{name} .main-svg")
    page.click("text=Mark as read")  # htmx POST under the policy
    page.wait_for_selector("text=Marked as read")
    _open(page, f"{live_server.url}/patients/{patient.pk}/upload/")
    _open(page, f"{live_server.url}/patients/{patient.pk}/care-plan/")
    _open(page, f"{live_server.url}/api/docs/")
    page.wait_for_selector(".swagger-ui .opblock")  # Swagger UI ran from its static script
    _open(page, f"{live_server.url}/patients/")
    with page.expect_navigation():
        page.select_option("#language-select", "zh-hans")  # autosubmit from static/js/app.js
    assert page.locator("html").get_attribute("lang") == "zh-hans"
    assert page.violations == []
