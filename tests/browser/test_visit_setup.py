"""Issue #9 item 1 in chromium: a staff member closes the center for a holiday and puts a
clinician on leave from the setup pages, and the booking page stops offering those days.
The setup pages fit a 390 px phone without sideways scrolling; axe-core checks every page."""

import datetime as dt
import os
from pathlib import Path

import pytest
from django.utils import timezone

from tests.browser.conftest import assert_accessible, sign_in
from tests.conftest import PASSWORD
from visits import services
from visits.models import Availability, OpeningHours, VisitType

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHONE = {"width": 390, "height": 844}
SCREENSHOTS = Path(
    os.environ.get(
        "SCREENSHOT_DIR", Path(__file__).resolve().parents[2] / "test-output" / "screenshots"
    )
)


def click(page, selector):
    with page.expect_navigation():
        page.click(selector)
    page.wait_for_load_state("networkidle")
    assert_accessible(page)


def shoot(page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def no_sideways_scroll(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")


@pytest.fixture
def clinic(center, alice):
    for weekday in range(7):  # every day, so the holiday and the leave day fall on workdays
        OpeningHours.objects.create(
            center=center, weekday=weekday, opens=dt.time(8), closes=dt.time(18)
        )
        Availability.objects.create(
            clinician=alice, center=center, weekday=weekday, starts=dt.time(9), ends=dt.time(12)
        )
    return VisitType.objects.create(code="follow_up", name="Follow-up", duration_minutes=30)


def test_it_sets_a_holiday_and_a_leave_day_that_the_booking_page_respects(
    page, live_server, clinic, center, alice, staff, patient
):
    today = timezone.localdate(timezone.now(), services.center_zone(center))
    holiday, leave = today + dt.timedelta(days=10), today + dt.timedelta(days=11)
    after = today + dt.timedelta(days=12)
    base = live_server.url
    sign_in(page, live_server, "sam", PASSWORD)

    # From the staff home to the setup page; close the center on the holiday.
    click(page, "main a[href='/visits/setup/']")
    page.fill("#id_closed-date", holiday.isoformat())
    page.fill("#id_closed-reason", "Founders' day")
    click(page, "section[aria-labelledby=closed-title] button.primary")
    assert (
        page.locator("section[aria-labelledby=closed-title] table")
        .inner_text()
        .count("Founders' day")
    )

    # Alice's week: a day of leave.
    click(page, f"a[href='/visits/setup/clinicians/{alice.pk}/']")
    page.fill("#id_exceptions-date", leave.isoformat())
    page.select_option("#id_exceptions-kind", "leave")
    page.fill("#id_exceptions-note", "Annual leave")
    click(page, "section[aria-labelledby=exceptions-title] button.primary")
    table = page.locator("section[aria-labelledby=exceptions-title] table").inner_text()
    assert "Leave" in table and "Whole day" in table and "Annual leave" in table

    # A bad period is refused with a reason, and nothing is saved.
    page.select_option("#id_sessions-weekday", "0")
    page.fill("#id_sessions-starts", "11:00")
    page.fill("#id_sessions-ends", "10:00")
    click(page, "section[aria-labelledby=sessions-title] button.primary")
    assert "The end must be after the start." in page.inner_text("main")

    # The phone width: no sideways scrolling on either setup page.
    page.set_viewport_size(PHONE)
    page.reload()
    assert no_sideways_scroll(page), "the clinician's setup page scrolls sideways at 390 px"
    shoot(page, "setup-clinician-390")
    page.goto(f"{base}/visits/setup/")
    assert no_sideways_scroll(page), "the setup page scrolls sideways at 390 px"
    shoot(page, "setup-390")

    # Booking from the holiday on: neither the holiday nor Alice's leave day is offered.
    page.goto(f"{base}/visits/book/?patient={patient.pk}&date={holiday.isoformat()}")
    page.wait_for_load_state("networkidle")
    assert_accessible(page)
    assert page.locator(f"#slots-{holiday:%Y%m%d}").count() == 0
    assert page.locator(f"#slots-{leave:%Y%m%d}").count() == 0
    assert page.locator(f"#slots-{after:%Y%m%d}").count() == 1
