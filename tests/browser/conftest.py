"""End-to-end tests in Debian's chromium, driven by Playwright (it never downloads a browser)."""

import os
import shutil
from pathlib import Path

import pytest

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
# axe-core comes from npm (package.json; scripts/test runs `npm ci`). Never from a CDN.
AXE_JS = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"
# WCAG 2.0 and 2.1, levels A and AA: what the product promises (README, accessibility).
WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
# Playwright's sync API runs an event loop in this thread; Django's ORM calls from the test
# body are still synchronous and safe.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    if not os.path.exists(CHROMIUM):
        pytest.fail("Debian's chromium is required for browser tests: apt-get install chromium")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
        )
        yield browser
        browser.close()


@pytest.fixture
def page(browser):
    # bypass_csp only lets the test inject axe-core; the app's own scripts still obey the CSP.
    context = browser.new_context(locale="en-US", bypass_csp=True)
    page = context.new_page()
    page.set_default_timeout(15_000)
    yield page
    context.close()


def axe_violations(page) -> list[dict]:
    """Run axe-core on the page as it is now; the WCAG 2 A/AA violations it finds."""
    if not AXE_JS.exists():
        pytest.fail(f"{AXE_JS} is missing: run `npm ci` (scripts/test does) to install axe-core")
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.add_script_tag(path=str(AXE_JS))
    return page.evaluate(
        """async (tags) => {
            const result = await axe.run(document, {runOnly: {type: "tag", values: tags}});
            return result.violations.map(v => ({
                id: v.id, impact: v.impact, help: v.help,
                nodes: v.nodes.slice(0, 5).map(n => n.target.join(" ") + " :: " + n.failureSummary),
            }));
        }""",
        WCAG_TAGS,
    )


def assert_accessible(page) -> None:
    """Fail with a readable list if axe-core finds any WCAG 2 A/AA violation on the page."""
    violations = axe_violations(page)
    if violations:
        lines = [f"axe-core: {len(violations)} WCAG 2 AA violation(s) on {page.url}"]
        for v in violations:
            lines.append(f"- {v['id']} ({v['impact']}): {v['help']}")
            lines.extend(f"    {node}" for node in v["nodes"])
        pytest.fail("\n".join(lines), pytrace=False)


def sign_in(page, live_server, username, password):
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.click("button[type=submit].primary")
    page.wait_for_load_state("networkidle")
    assert_accessible(page)


def open_all_week_with_a_visit(*, clinician, staff, patient, on):
    """The patient's center open and ``clinician`` available 00:00–23:00 every day (free slots
    on every page), and a follow-up booked for the patient at 10:00 UTC on ``on``."""
    import datetime as dt

    from visits.models import Availability, OpeningHours, VisitType
    from visits.services import visit_book

    follow_up = VisitType.objects.create(code="follow_up", name="Follow-up", duration_minutes=30)
    for weekday in range(7):
        OpeningHours.objects.create(
            center=patient.care_center, weekday=weekday, opens=dt.time(0), closes=dt.time(23)
        )
        Availability.objects.create(
            clinician=clinician,
            center=patient.care_center,
            weekday=weekday,
            starts=dt.time(0),
            ends=dt.time(23),
        )
    start = dt.datetime.combine(on, dt.time(10), tzinfo=dt.UTC)
    visit_book(patient=patient, clinician=clinician, visit_type=follow_up, start=start, by=staff)
    return follow_up
