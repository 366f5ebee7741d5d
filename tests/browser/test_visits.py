"""Issue #9 end to end in chromium: staff work the due worklist, book from it, reschedule from
the week calendar, cancel one, check a patient in and complete the visit (the next due date
moves); the patient sees the visit and downloads the .ics. axe-core checks every page."""

import datetime as dt

import pytest
from django.utils import timezone

from care_plans.models import CarePlanVersion
from care_plans.services import care_plan_default_content, care_plan_revise
from tests.browser.conftest import assert_accessible, sign_in
from tests.conftest import PASSWORD, make_patient
from visits import services
from visits.models import Availability, OpeningHours, Visit, VisitType

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def go(page, url):
    page.goto(url)
    page.wait_for_load_state("networkidle")
    assert_accessible(page)


def click(page, selector):
    with page.expect_navigation():
        page.click(selector)
    page.wait_for_load_state("networkidle")
    assert_accessible(page)


@pytest.fixture
def clinic(center, alice, staff):
    for weekday in range(7):  # open around the clock, so the test runs at any hour
        OpeningHours.objects.create(
            center=center, weekday=weekday, opens=dt.time(0), closes=dt.time(23, 45)
        )
        Availability.objects.create(
            clinician=alice, center=center, weekday=weekday, starts=dt.time(0), ends=dt.time(23, 45)
        )
    return VisitType.objects.create(code="follow_up", name="Follow-up", duration_minutes=30)


def overdue(patient, alice):
    version = care_plan_revise(
        patient=patient,
        by=alice,
        reason="First plan",
        content={**care_plan_default_content(patient=patient), "review_interval_days": 365},
    )
    CarePlanVersion.objects.filter(pk=version.pk).update(
        created_at=timezone.now() - dt.timedelta(days=100)
    )


def test_it_runs_a_clinic_day(
    page, live_server, clinic, center, alice, staff, patient, other_patient
):
    overdue(patient, alice)
    third = make_patient("MRN003", center=center, endocrinologists=[alice])
    overdue(third, alice)
    now = timezone.now()
    # Someone already in the waiting room: started up to 40 minutes ago, but never before the
    # center's midnight, so it is among "today's visits" whatever time the test runs.
    zone = services.center_zone(center)
    midnight = dt.datetime.combine(timezone.localdate(now, zone), dt.time.min, tzinfo=zone)
    start = max(now - dt.timedelta(minutes=40), midnight)
    arrived = Visit.objects.create(
        patient=third,
        clinician=alice,
        visit_type=clinic,
        center=center,
        start_at=start,
        end_at=start + dt.timedelta(minutes=30),
    )
    due_before = services.due_dates([third])[third.pk]
    base = live_server.url

    # Staff: the worklist shows the overdue patient; book the first free time in one step.
    sign_in(page, live_server, "sam", PASSWORD)
    go(page, f"{base}/visits/worklist/")
    row = page.locator("tr", has_text=patient.name)
    assert "Overdue" in row.inner_text()
    with page.expect_navigation():
        row.get_by_role("button", name="Book first available", exact=False).click()
    assert_accessible(page)
    assert "Visit booked." in page.content()
    booked = Visit.objects.get(patient=patient)
    assert booked.status == "booked" and booked.start_at > now
    go(page, f"{base}/visits/worklist/")
    assert patient.name not in page.locator("main").inner_text()

    # Reschedule it from the week calendar.
    local_day = timezone.localdate(booked.start_at, services.center_zone(center))
    go(page, f"{base}/visits/?view=week&date={local_day.isoformat()}")
    click(page, f"a[href='/visits/{booked.pk}/']")
    click(page, "text=Reschedule")
    old_start = booked.start_at
    click(page, "#slots button.slot >> nth=-1")  # the last free time shown
    assert "Visit moved." in page.content()
    booked.refresh_from_db()
    assert booked.start_at > old_start

    # Book another patient through the form, then cancel that visit with a reason.
    go(page, f"{base}/visits/book/?patient={other_patient.pk}")
    click(page, "#slots button.slot >> nth=0")
    other = Visit.objects.get(patient=other_patient)
    page.fill("#id_reason", "Patient is travelling")
    click(page, "text=Cancel visit")
    other.refresh_from_db()
    assert other.status == "cancelled" and other.cancel_reason == "Patient is travelling"

    # Home: today's visits; check the waiting patient in, then complete with the checks done.
    go(page, f"{base}/")
    assert "Today's visits" in page.content()
    with page.expect_navigation():
        page.get_by_role("button", name=f"Check in {third.name}").click()
    assert_accessible(page)
    arrived.refresh_from_db()
    assert arrived.status == "checked_in"
    page.check("input[value=hba1c]")
    page.check("input[value=feet]")
    click(page, "button:has-text('Complete')")
    assert "Visit completed." in page.content()
    arrived.refresh_from_db()
    assert arrived.status == "completed" and arrived.completion.checks_done == ["feet", "hba1c"]
    due_after = services.due_dates([third])[third.pk]
    assert due_before < timezone.localdate() <= due_after - dt.timedelta(days=89)

    # The patient sees the visit at their local time and downloads the .ics.
    page.context.clear_cookies()
    sign_in(page, live_server, "pat", PASSWORD)
    panel = page.locator("#visits-panel-title").locator("..")
    local = booked.start_at.astimezone(patient.tzinfo)
    assert f"{local:%H:%M}" in panel.inner_text() and "Follow-up" in panel.inner_text()
    with page.expect_download() as download:
        page.click("text=Download my visits (.ics)")
    body = open(download.value.path(), encoding="utf-8").read()
    local = booked.start_at.astimezone(patient.tzinfo)  # the patient's zone, named (#19 §6)
    assert f"DTSTART;TZID={patient.timezone}:{local:%Y%m%dT%H%M%S}" in body
