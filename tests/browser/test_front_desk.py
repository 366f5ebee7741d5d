"""Issue #19 §1 in chromium: staff work the worklist as a recall list — a call that went
unanswered is logged with a date to try again, a booking invite goes out by e-mail in the
patient's language — and the worklist fits a 390 px phone; axe-core checks every step."""

import datetime as dt

import pytest
from django.core import mail
from django.utils import timezone

from care_plans.models import CarePlanVersion
from care_plans.services import care_plan_default_content, care_plan_revise
from tests.browser.conftest import assert_accessible, sign_in
from tests.conftest import PASSWORD, make_patient
from visits.models import Availability, OpeningHours, OutreachAttempt, VisitType

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


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


def test_staff_log_outreach_and_send_an_invite(page, live_server, center, alice, staff, patient):
    VisitType.objects.create(code="follow_up", name="Follow-up", duration_minutes=30)
    VisitType.objects.create(
        code="annual_review", name="Annual review (eyes, kidneys, feet)", duration_minutes=60
    )
    patient.phone, patient.email = "+44 7700 900123", "pat@example.org"
    patient.language = "zh-hans"
    patient.save()
    overdue(patient, alice)
    long_named = make_patient(
        "MRN-LONG-0000000042",
        center=center,
        endocrinologists=[alice],
        name="Maximiliana Theodora Featherstonehaugh-Wolfeschlegelsteinhausen",
        email="maximiliana.featherstonehaugh.wolfeschlegelsteinhausen@example.org",
    )
    overdue(long_named, alice)

    sign_in(page, live_server, "sam", PASSWORD)
    page.goto(f"{live_server.url}/visits/worklist/")
    page.wait_for_load_state("networkidle")
    assert_accessible(page)
    row = page.locator(f"#patient-{patient.pk}")
    text = row.inner_text()
    assert "+44 7700 900123" in text and "pat@example.org" in text and "Not contacted" in text
    assert "Annual review" in text  # eye, kidney and foot checks are due

    # A call, no answer: logged with a date to try again.
    row.locator("summary", has_text="Log outreach").click()
    row.locator("select[name=channel]").first.select_option("phone")
    row.locator("select[name=outcome]").select_option("no_answer")
    row.locator("input[name=note]").fill("Rang at 10:00, no voicemail")
    tomorrow = timezone.localdate() + dt.timedelta(days=1)
    row.locator("input[name=retry_on]").fill(tomorrow.isoformat())
    with page.expect_navigation():
        row.get_by_role("button", name=f"Record outreach for {patient.name}").click()
    page.wait_for_load_state("networkidle")
    assert_accessible(page)
    attempt = OutreachAttempt.objects.get()
    assert (attempt.outcome, attempt.retry_on, attempt.by) == ("no_answer", tomorrow, staff)
    row = page.locator(f"#patient-{patient.pk}")
    assert "No answer" in row.inner_text() and "Rang at 10:00" in row.inner_text()

    # Filter by outreach state: only the patient who was called.
    page.select_option("select[name=outreach]", "no_answer")
    with page.expect_navigation():
        page.get_by_role("button", name="Show").click()
    assert page.locator("table.worklist tbody tr").count() == 1
    assert_accessible(page)

    # A booking invite by the preferred channel (e-mail), in the patient's language.
    with page.expect_navigation():
        page.get_by_role("button", name=f"Send a booking invite to {patient.name}").click()
    page.wait_for_load_state("networkidle")
    assert "Booking invite sent." in page.content()
    assert_accessible(page)
    invite = OutreachAttempt.objects.filter(outcome="invite_sent").get()
    assert invite.channel == "email" and invite.sent_at is not None
    (message,) = mail.outbox
    assert message.to == ["pat@example.org"] and "/visits/book/" in message.body
    assert "随访" in message.subject

    # At 390 px nothing scrolls sideways (it was 532 px), long names and addresses included.
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"{live_server.url}/visits/worklist/")
    page.wait_for_load_state("networkidle")
    overflow = page.evaluate(
        "document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert overflow <= 0, f"the worklist scrolls sideways by {overflow} px at 390 px"
    page.locator(f"#patient-{patient.pk} summary").click()  # the open outreach form too
    overflow = page.evaluate(
        "document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert overflow <= 0, f"the outreach form scrolls sideways by {overflow} px at 390 px"
    assert_accessible(page)

    # The booking page fits too (it was 461 px wide), its free times shown.
    for weekday in range(7):
        OpeningHours.objects.create(
            center=center, weekday=weekday, opens=dt.time(0), closes=dt.time(23, 45)
        )
        Availability.objects.create(
            clinician=alice, center=center, weekday=weekday, starts=dt.time(0), ends=dt.time(23, 45)
        )
    page.goto(f"{live_server.url}/visits/book/?patient={long_named.pk}")
    page.wait_for_load_state("networkidle")
    assert page.locator("#slots button.slot").count() > 0
    overflow = page.evaluate(
        "document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert overflow <= 0, f"the booking page scrolls sideways by {overflow} px at 390 px"
    assert_accessible(page)
