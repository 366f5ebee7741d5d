"""Issue #19's "Done when", as one loop in chromium: the worklist → a booking invite sent →
the patient books from the invite → the day grid shows the visit → staff drag it to another
time → the patient reads "moved" → check-in on the visit's day → complete with HbA1c 53
mmol/mol → the clinician's workspace shows HbA1c 7.0 % beside GMI on one chart; then closing
that day moves its remaining visit and tells that patient. Every page the loop visits fits a
390 px phone without sideways scrolling and passes axe-core.

The test owns its clock: time-machine moves the whole process, so the in-process live server
reads the same "now" as the test (first two days before the visit, then the visit's morning).
The clock only ever moves forward from the real date, so the browser's session cookie stays
valid.
"""

import datetime as dt
import re

import pytest
import time_machine
from django.core import mail
from django.utils import formats, timezone, translation
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from care_plans.models import CarePlanVersion
from care_plans.services import care_plan_default_content, care_plan_revise
from reports.models import Report
from tests.browser.conftest import assert_accessible, sign_in
from tests.conftest import PASSWORD, make_patient
from visits import scheduling, services
from visits.models import (
    Availability,
    OpeningHours,
    OutreachAttempt,
    Room,
    Visit,
    VisitMessage,
    VisitType,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}
SCALE = 1.6  # px per minute on the grid (visits/grid.py)


def fits_the_phone_and_passes_axe(page) -> None:
    """The page as it is now: no sideways scroll at 390 px, no WCAG 2 AA violation (both
    widths)."""
    assert_accessible(page)
    page.set_viewport_size(PHONE)
    # Charts redraw for the new width after the resize event (Plotly's responsive handler).
    try:
        page.wait_for_function(
            "document.documentElement.scrollWidth <= document.documentElement.clientWidth",
            timeout=3000,
        )
    except PlaywrightTimeout:
        pass  # measured and reported below
    overflow = page.evaluate(
        "document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert overflow <= 0, f"{page.url} scrolls sideways by {overflow} px at 390 px"
    assert_accessible(page)
    page.set_viewport_size(DESKTOP)


def go(page, url) -> None:
    page.goto(url)
    page.wait_for_load_state("networkidle")
    fits_the_phone_and_passes_axe(page)


def click_slot(page, start: dt.datetime) -> None:
    """Press the free-time button whose form books ``start`` (the value is ISO 8601)."""
    index = page.evaluate(
        """(ms) => [...document.querySelectorAll("form:has(button.slot)")]
                .findIndex(f => Date.parse(f.querySelector("input[name=start]").value) === ms)""",
        int(start.timestamp() * 1000),
    )
    assert index >= 0, f"no free time at {start.isoformat()} on {page.url}"
    with page.expect_navigation():
        page.locator("form:has(button.slot)").nth(index).locator("button").click()


@pytest.fixture
def clinic(center, alice):
    room = Room.objects.create(center=center, name="Room 1")
    for weekday in range(7):
        OpeningHours.objects.create(
            center=center, weekday=weekday, opens=dt.time(8), closes=dt.time(18)
        )
        Availability.objects.create(
            clinician=alice,
            center=center,
            weekday=weekday,
            starts=dt.time(9),
            ends=dt.time(13),
            room=room,
        )
    follow_up = VisitType.objects.create(
        code="follow_up",
        name="Follow-up",
        duration_minutes=30,
        roles="endocrinologist",
        patient_bookable=True,
    )
    annual = VisitType.objects.create(
        code="annual_review",
        name="Annual review (eyes, kidneys, feet)",
        duration_minutes=60,
        roles="endocrinologist",
        patient_bookable=True,
    )
    return follow_up, annual


def test_the_front_desk_loop_from_worklist_to_results(
    browser, live_server, clinic, center, alice, staff, patient
):
    tz = services.center_zone(center)
    # Two days before the visit, 08:00 at the center; a week ahead of the real date.
    today = timezone.localdate(timezone.now(), tz) + dt.timedelta(days=7)
    day = today + dt.timedelta(days=2)
    clock = time_machine.travel(scheduling.to_instant(today, dt.time(8), tz), tick=True)
    traveller = clock.start()
    try:
        _loop(browser, live_server, traveller, clinic, center, alice, staff, patient, tz, day)
    finally:
        clock.stop()


def _loop(browser, live_server, traveller, clinic, center, alice, staff, patient, tz, day):
    follow_up, annual = clinic
    # The patient is overdue (a plan 100 days old, eyes and kidneys never checked) and has a
    # CGM report whose GMI will sit beside the laboratory HbA1c.
    patient.email, patient.phone = "pat@example.org", "+44 7700 900123"
    patient.save()
    version = care_plan_revise(
        patient=patient,
        by=alice,
        reason="First plan",
        content={**care_plan_default_content(patient=patient), "review_interval_days": 365},
    )
    CarePlanVersion.objects.filter(pk=version.pk).update(
        created_at=timezone.now() - dt.timedelta(days=100)
    )
    Report.objects.create(
        patient=patient,
        period_start=timezone.localdate() - dt.timedelta(days=20),
        period_end=timezone.localdate() - dt.timedelta(days=7),
        kind="cgm",
        metrics={"gmi_percent": 6.64},
    )
    # Another patient already booked late that morning: closing the day must move them.
    other = make_patient("MRN-OTHER", center=center, endocrinologists=[alice])
    other.email = "other@example.org"
    other.save()
    services.visit_book(
        patient=other,
        clinician=alice,
        visit_type=follow_up,
        start=scheduling.to_instant(day, dt.time(12), tz),
        by=staff,
    )

    # 1. Staff work the worklist and send the patient a booking invite.
    sam = browser.new_context(locale="en-US", bypass_csp=True).new_page()
    sign_in(sam, live_server, "sam", PASSWORD)
    go(sam, f"{live_server.url}/visits/worklist/")
    row = sam.locator(f"#patient-{patient.pk}")
    assert "Annual review" in row.inner_text()  # eye and kidney checks due
    with sam.expect_navigation():
        sam.get_by_role("button", name=f"Send a booking invite to {patient.name}").click()
    assert "Booking invite sent." in sam.content()
    fits_the_phone_and_passes_axe(sam)
    assert OutreachAttempt.objects.get(patient=patient).outcome == "invite_sent"
    (invite,) = [m for m in mail.outbox if m.to == ["pat@example.org"]]
    link = re.search(r"https?://\S+", invite.body).group(0)
    assert link.endswith("/visits/book/")

    # 2. The patient follows the invite: the page opens on the annual review (what is due)
    # and books 09:00 on the day.
    pat = browser.new_context(locale="en-US", bypass_csp=True).new_page()
    sign_in(pat, live_server, "pat", PASSWORD)
    go(pat, f"{live_server.url}/visits/book/?date={day.isoformat()}")
    assert pat.locator("#self-type").input_value() == str(annual.pk)
    nine = scheduling.to_instant(day, dt.time(9), tz)
    click_slot(pat, nine)
    assert "Your visit is booked." in pat.content()
    fits_the_phone_and_passes_axe(pat)
    visit = Visit.objects.get(patient=patient)
    assert (visit.visit_type, visit.clinician, visit.start_at) == (annual, alice, nine)

    # 3. The day grid shows it; staff drag it to 10:30.
    go(sam, f"{live_server.url}/visits/grid/?date={day.isoformat()}")
    block = sam.locator(f"[data-visit='{visit.pk}']")
    assert patient.name in block.inner_text() and "Annual review" in block.inner_text()
    first = int(sam.locator("#tgrid").get_attribute("data-first"))
    box = block.bounding_box()
    y = (10 * 60 + 30 - first) * SCALE + box["height"] / 2  # grabbed at the block's middle
    with sam.expect_navigation():
        block.drag_to(
            sam.locator(f".tgrid-body[data-clinician='{alice.pk}']"),
            target_position={"x": 20, "y": y},
        )
    visit.refresh_from_db()
    ten_thirty = scheduling.to_instant(day, dt.time(10, 30), tz)
    assert visit.start_at == ten_thirty
    sam.wait_for_load_state("networkidle")
    fits_the_phone_and_passes_axe(sam)
    # The same day, one column per room: the visit sits in its room, with its clinician.
    with sam.expect_navigation():
        sam.click("#grid-by-room")
    sam.wait_for_load_state("networkidle")
    room_column = sam.locator(".tgrid-col", has=sam.locator(f"[data-visit='{visit.pk}']"))
    assert room_column.locator(".tgrid-head").inner_text().startswith("Room 1")
    assert "Alice" in sam.locator(f"[data-visit='{visit.pk}']").inner_text()
    fits_the_phone_and_passes_axe(sam)

    # 4. The patient reads that the visit was moved (home page), by e-mail too.
    go(pat, f"{live_server.url}/")
    assert "moved" in pat.inner_text("#visit-notices")
    assert VisitMessage.objects.get(visit=visit, kind="moved").status == "sent"
    assert any(m.subject == "Visit moved" and m.to == ["pat@example.org"] for m in mail.outbox)

    # 5. Check-in waits for the visit's day; that morning it opens.
    go(sam, f"{live_server.url}/visits/{visit.pk}/")
    assert sam.locator(".check-in-opens").count() == 1
    traveller.move_to(scheduling.to_instant(day, dt.time(10, 15), tz))
    # Two days on, the idle session has ended (the inactivity sign-out): staff sign in again.
    sign_in(sam, live_server, "sam", PASSWORD)
    go(sam, f"{live_server.url}/visits/{visit.pk}/")
    with sam.expect_navigation():
        sam.get_by_role("button", name="Check in").click()
    visit.refresh_from_db()
    assert visit.status == "checked_in"
    fits_the_phone_and_passes_axe(sam)

    # 6. The clinician completes it with HbA1c 53 mmol/mol and the eyes and kidneys done.
    ali = browser.new_context(locale="en-US", bypass_csp=True).new_page()
    sign_in(ali, live_server, "alice", PASSWORD)
    go(ali, f"{live_server.url}/visits/{visit.pk}/")
    ali.check("input[name=checks_done][value=eyes]")
    ali.check("input[name=checks_done][value=kidneys]")
    ali.fill("input[name=hba1c]", "53")
    ali.select_option("select[name=hba1c_unit]", "mmol/mol")
    with ali.expect_navigation():
        ali.get_by_role("button", name="Complete", exact=True).click()
    assert "Visit completed." in ali.content()
    fits_the_phone_and_passes_axe(ali)
    completion = Visit.objects.get(pk=visit.pk).completion
    assert (str(completion.hba1c_percent), completion.hba1c_mmol_mol) == ("7.0", 53)

    # 7. The workspace: HbA1c 7.0 % beside GMI on one chart; the checks due move a year on.
    go(ali, f"{live_server.url}/patients/{patient.pk}/visits/")
    assert "7.0 % (53 mmol/mol)" in ali.inner_text(".visit-results")
    chart = ali.locator(".results-chart")
    chart.wait_for()
    ali.wait_for_function(
        "document.querySelectorAll('.results-chart .scatterlayer .trace').length >= 2"
    )
    legend = chart.inner_text()
    assert "HbA1c (laboratory)" in legend and "GMI (from CGM)" in legend
    rows = ali.locator("table.checks-due tbody tr").all_inner_texts()
    with translation.override("en"):
        for label, interval in (("HbA1c", 90), ("Eye", 365), ("Kidney", 365), ("Foot", 365)):
            (row,) = [r for r in rows if r.startswith(label)]
            last, due = (
                formats.date_format(d, "SHORT_DATE_FORMAT")
                for d in (day, day + dt.timedelta(days=interval))
            )
            if label == "Foot":  # never done (not ticked at this visit): due now
                assert row.split("\t")[1] == "—", row
            else:  # done at the visit (HbA1c as a result, the others ticked): due from it
                assert last in row and due in row, row

    # 8. Staff close that day: the remaining visit moves and its patient is told.
    go(sam, f"{live_server.url}/visits/setup/")
    sam.fill("#id_closed-date", day.isoformat())
    with sam.expect_navigation():
        sam.click("form:has(#id_closed-date) button[type=submit]")
    assert sam.locator("#closures li").count() == 1  # the completed visit stays as it was
    fits_the_phone_and_passes_axe(sam)
    with sam.expect_navigation():
        sam.click("#closures button.primary")
    assert "1 visit(s) moved" in sam.content()
    fits_the_phone_and_passes_axe(sam)
    moved = other.visits.get()
    assert moved.status == "booked" and timezone.localdate(moved.start_at, tz) != day
    assert VisitMessage.objects.get(visit=moved, kind="moved").status == "sent"
    assert any(m.subject == "Visit moved" and m.to == ["other@example.org"] for m in mail.outbox)
    assert Visit.objects.get(pk=visit.pk).status == "completed"
    # The grid marks the day closed and keeps nothing booked in it.
    go(sam, f"{live_server.url}/visits/grid/?date={day.isoformat()}")
    assert "Closed" in sam.inner_text(".tgrid-col >> nth=0")
    assert sam.locator(".tgrid-visit.status-booked").count() == 0
