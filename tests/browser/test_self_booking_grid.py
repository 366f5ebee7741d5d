"""Issue #19 in chromium: a patient books their follow-up from /visits/book/, the day grid
shows it, staff drag it to another time, the patient reads "moved"; closing that day from the
setup page moves the remaining visits and tells each patient. The new pages fit a 390 px phone
without sideways scrolling (the grid scrolls inside its own box) and pass axe-core."""

import datetime as dt

import pytest
from django.utils import timezone

from tests.browser.conftest import assert_accessible, sign_in
from tests.conftest import PASSWORD, make_patient
from visits import scheduling, services
from visits.models import Availability, OpeningHours, Visit, VisitMessage, VisitType

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHONE = {"width": 390, "height": 844}


def no_sideways_scroll(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")


def fits_the_phone(page) -> None:
    page.set_viewport_size(PHONE)
    assert no_sideways_scroll(page), f"{page.url} scrolls sideways at 390 px"
    assert_accessible(page)
    page.set_viewport_size({"width": 1280, "height": 900})


@pytest.fixture
def desk(center, alice, bob):
    for weekday in range(7):
        OpeningHours.objects.create(
            center=center, weekday=weekday, opens=dt.time(8), closes=dt.time(18)
        )
        for clinician in (alice, bob):
            Availability.objects.create(
                clinician=clinician,
                center=center,
                weekday=weekday,
                starts=dt.time(9),
                ends=dt.time(12),
            )
    return VisitType.objects.create(
        code="follow_up",
        name="Follow-up",
        duration_minutes=30,
        roles="endocrinologist",
        patient_bookable=True,
    )


def test_the_front_desk_loop(browser, live_server, desk, center, alice, bob, staff, patient):
    tz = services.center_zone(center)
    day = timezone.localdate(timezone.now(), tz) + dt.timedelta(days=3)
    nine = scheduling.to_instant(day, dt.time(9), tz)

    # The patient books the first free time of that day from their booking page.
    pat = browser.new_context(locale="en-US", bypass_csp=True).new_page()
    sign_in(pat, live_server, "pat", PASSWORD)
    pat.goto(f"{live_server.url}/visits/book/?date={day.isoformat()}")
    assert_accessible(pat)
    fits_the_phone(pat)
    with pat.expect_navigation():
        pat.click(f"form:has(input[name=start][value='{nine.isoformat()}']) button")
    assert "Your visit is booked." in pat.content()
    visit = Visit.objects.get(patient=patient)
    assert (visit.clinician, visit.start_at) == (alice, nine)

    # Staff see it on the day grid and drag it to 10:30.
    sam = browser.new_context(locale="en-US", bypass_csp=True).new_page()
    sign_in(sam, live_server, "sam", PASSWORD)
    sam.goto(f"{live_server.url}/visits/grid/?date={day.isoformat()}")
    block = sam.locator(f"[data-visit='{visit.pk}']")
    assert patient.name in block.inner_text()
    assert_accessible(sam)
    fits_the_phone(sam)
    column = sam.locator(f".tgrid-body[data-clinician='{alice.pk}']")
    first = int(sam.locator("#tgrid").get_attribute("data-first"))
    box = block.bounding_box()
    # Dropped so that the block's top lands at 10:30 (the grab point is the block's middle).
    y = (10 * 60 + 30 - first) * 1.6 + box["height"] / 2
    with sam.expect_navigation():
        block.drag_to(column, target_position={"x": 20, "y": y})
    visit.refresh_from_db()
    assert visit.start_at == scheduling.to_instant(day, dt.time(10, 30), tz)

    # A taken time: the block goes back and the reason is read out.
    other = make_patient("MRN-OTHER", center=center, endocrinologists=[alice])
    Visit.objects.create(
        patient=other,
        clinician=alice,
        visit_type=desk,
        center=center,
        start_at=scheduling.to_instant(day, dt.time(11, 30), tz),
        end_at=scheduling.to_instant(day, dt.time(12), tz),
    )
    sam.reload()
    block = sam.locator(f"[data-visit='{visit.pk}']")
    box = block.bounding_box()
    y = (11 * 60 + 30 - first) * 1.6 + box["height"] / 2
    block.drag_to(
        sam.locator(f".tgrid-body[data-clinician='{alice.pk}']"), target_position={"x": 20, "y": y}
    )
    sam.wait_for_function("document.getElementById('grid-status').textContent.length > 0")
    assert "already has a visit" in sam.inner_text("#grid-status")
    visit.refresh_from_db()
    assert visit.start_at == scheduling.to_instant(day, dt.time(10, 30), tz)

    # The patient reads that the visit was moved.
    pat.goto(f"{live_server.url}/")
    assert "moved" in pat.inner_text("#visit-notices")

    # Staff close that day: the setup page lists both visits and moves them all.
    sam.goto(f"{live_server.url}/visits/setup/")
    sam.fill("#id_closed-date", day.isoformat())
    with sam.expect_navigation():
        sam.click("form:has(#id_closed-date) button[type=submit]")
    assert sam.locator("#closures li").count() == 2
    assert_accessible(sam)
    fits_the_phone(sam)
    with sam.expect_navigation():
        sam.click("#closures button.primary")
    assert "2 visit(s) moved" in sam.content()
    for moved in Visit.objects.filter(pk__in=[visit.pk, other.visits.get().pk]):
        assert timezone.localdate(moved.start_at, tz) != day
        assert moved.status == Visit.Status.BOOKED
    assert set(
        VisitMessage.objects.filter(kind="moved", status="sent").values_list(
            "visit__patient", flat=True
        )
    ) == {patient.pk, other.pk}
    # Nothing stays booked in closed time; the grid marks the day closed.
    sam.goto(f"{live_server.url}/visits/grid/?date={day.isoformat()}")
    assert "Closed" in sam.inner_text(".tgrid-col >> nth=0")
    assert sam.locator(".tgrid-visit").count() == 0


def test_the_requests_page_and_day_list_fit_a_phone(browser, live_server, desk, staff, patient):
    from visits.models import VisitRequest

    VisitRequest.objects.create(patient=patient, note="Tuesday evenings")
    sam = browser.new_context(locale="en-US", bypass_csp=True).new_page()
    sign_in(sam, live_server, "sam", PASSWORD)
    sam.goto(f"{live_server.url}/visits/requests/")
    assert "Tuesday evenings" in sam.content()
    assert_accessible(sam)
    fits_the_phone(sam)
    sam.goto(f"{live_server.url}/visits/grid/day-list/")
    assert_accessible(sam)
    fits_the_phone(sam)
