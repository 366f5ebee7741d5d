"""Every page, as each role sees it, passes axe-core's WCAG 2 A/AA checks in chromium.

A page that is added to the product is added to PAGES below (by role). The other browser tests
also run axe-core on each page they reach (``assert_accessible``), so a page checked here in its
empty state is checked there with real content too.
"""

import datetime as dt

import pytest

from care_plans.demo import seed_plans
from patients.consent import consent_record
from reports.services import report_generate
from tests.browser.conftest import assert_accessible, open_all_week_with_a_visit, sign_in
from tests.browser.test_care_plan_loop import load_cgm
from tests.conftest import PASSWORD
from visits.models import (
    AvailabilityException,
    ClosedDay,
    Room,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# (role's username, path template, languages). {patient}, {report}, {alice}, {center} and
# {follow_up} are filled in per test.
PAGES = [
    ("alice", "/", ("en", "zh-hans")),
    ("alice", "/patients/", ("en", "zh-hans")),
    ("alice", "/patients/{patient}/", ("en", "zh-hans")),
    ("alice", "/patients/{patient}/upload/", ("en",)),
    ("alice", "/patients/{patient}/uploads/", ("en",)),
    ("alice", "/patients/{patient}/care-plan/", ("en", "zh-hans")),
    ("alice", "/patients/{patient}/care-plan/history/", ("en",)),
    ("alice", "/reports/{report}/", ("en", "zh-hans")),
    ("alice", "/reports/unread/", ("en",)),
    ("alice", "/accounts/preferences/", ("en",)),
    ("alice", "/accounts/two-factor/", ("en", "zh-hans")),
    ("alice", "/accounts/password/change/", ("en",)),
    ("alice", "/monitoring/alerts/", ("en", "zh-hans")),
    ("alice", "/patients/{patient}/alerts/", ("en", "zh-hans")),
    ("sam", "/", ("en", "zh-hans")),
    ("sam", "/patients/", ("en",)),
    ("sam", "/visits/", ("en", "zh-hans")),
    ("sam", "/visits/?view=week", ("en",)),
    ("sam", "/visits/worklist/", ("en", "zh-hans")),
    ("sam", "/visits/book/?patient={patient}", ("en", "zh-hans")),
    ("sam", "/visits/feed/", ("en",)),
    ("sam", "/visits/setup/", ("en", "zh-hans")),
    ("sam", "/visits/setup/clinicians/{alice}/", ("en", "zh-hans")),
    ("sam", "/visits/setup/types/", ("en", "zh-hans")),
    ("sam", "/visits/grid/", ("en", "zh-hans")),
    ("sam", "/visits/grid/?view=week&clinician={alice}", ("en",)),
    ("sam", "/visits/grid/day-list/", ("en", "zh-hans")),
    ("sam", "/visits/requests/", ("en", "zh-hans")),
    ("ada", "/visits/setup/?center={center}", ("en",)),
    ("ada", "/visits/setup/types/", ("en",)),
    ("ada", "/visits/setup/types/{follow_up}/", ("en", "zh-hans")),
    ("pat", "/", ("en", "zh-hans")),
    ("pat", "/visits/book/", ("en", "zh-hans")),
    ("pat", "/my/glucose/", ("en", "zh-hans")),
    ("pat", "/patients/{patient}/uploads/", ("en",)),
    ("pat", "/patients/{patient}/upload/", ("en",)),
    ("pat", "/reports/{report}/", ("en",)),
    ("pat", "/patients/{patient}/care-plan/", ("en",)),
    ("pat", "/patients/{patient}/access/", ("en", "zh-hans")),
    ("pat", "/patients/{patient}/privacy/", ("en", "zh-hans")),
    ("sam", "/patients/{patient}/privacy/", ("en",)),
    # Consultations (issue #24); the thread and the studio with content in test_consultations.
    ("pat", "/consultations/", ("en", "zh-hans")),
    ("pat", "/consultations/ask/", ("en", "zh-hans")),
    ("pat", "/consultations/medication-requests/new/", ("en",)),
    ("alice", "/consultations/", ("en", "zh-hans")),
    ("alice", "/consultations/templates/", ("en", "zh-hans")),
]


@pytest.fixture
def clinic(alice, staff, patient, admin_user):
    end = dt.date.today() - dt.timedelta(days=1)
    load_cgm(patient, start=end - dt.timedelta(days=27), days=28)
    seed_plans([patient], [alice])
    report = report_generate(patient_id=patient.pk, period_end=end)
    consent_record(patient=patient, topic="care", given=True, by=patient.user)  # privacy page
    follow_up = open_all_week_with_a_visit(  # free slots and a booked visit on the visits pages
        clinician=alice, staff=staff, patient=patient, on=end + dt.timedelta(days=2)
    )
    # The setup pages with a row in each table.
    center = patient.care_center
    room = Room.objects.create(center=center, name="Room 1")
    ClosedDay.objects.create(center=center, date=end + dt.timedelta(days=30), reason="Holiday")
    AvailabilityException.objects.create(
        clinician=alice, center=center, date=end + dt.timedelta(days=31), kind="leave"
    )
    AvailabilityException.objects.create(
        clinician=alice,
        center=center,
        date=end + dt.timedelta(days=32),
        kind="extra",
        starts=dt.time(23),
        ends=dt.time(23, 30),
        room=room,
    )
    return {
        "patient": patient.pk,
        "report": report.pk,
        "alice": alice.pk,
        "center": center.pk,
        "follow_up": follow_up.pk,
    }


def switch_language(page, language):
    with page.expect_navigation():
        page.select_option("#language-select", language)
    page.wait_for_load_state("networkidle")


def visit(page, live_server, path, language):
    page.goto(f"{live_server.url}{path}")
    page.wait_for_load_state("networkidle")
    if language != "en":
        switch_language(page, language)


@pytest.mark.parametrize("username", sorted({username for username, _, _ in PAGES}))
def test_it_finds_no_wcag_violation_on_any_page(page, live_server, clinic, username):
    sign_in(page, live_server, username, PASSWORD)
    checked = []
    for who, template, languages in PAGES:
        if who != username:
            continue
        for language in languages:
            path = template.format(**clinic)
            visit(page, live_server, path, language)
            assert_accessible(page)
            checked.append((path, language))
            if language != "en":  # back to English for the next page
                switch_language(page, "en")
    assert checked


def test_it_finds_no_wcag_violation_on_the_sign_in_page(page, live_server):
    page.goto(f"{live_server.url}/accounts/login/")
    assert_accessible(page)
