"""Issue #20 §3 in chromium: the center's staff set the on-call rota and the lead on a page of
their own (not the Django admin), in Chinese too; an endocrinologist who reads mmol/L enrols a
consenting patient from the Alerts tab with a threshold typed in mmol/L. axe-core checks every
page; both fit a 390 px phone without sideways scrolling."""

import datetime as dt

import pytest
from django.utils import timezone

from monitoring.models import CenterLead, Enrolment, OnCallShift
from patients.consent import consent_record
from tests.browser.conftest import assert_accessible, sign_in
from tests.conftest import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _fits_a_phone(page) -> None:
    page.set_viewport_size({"width": 390, "height": 800})
    assert page.evaluate("document.documentElement.scrollWidth <= 390")
    assert_accessible(page)
    page.set_viewport_size({"width": 1280, "height": 800})


@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_staff_set_the_rota_and_the_lead(page, live_server, staff, alice, language):
    staff.language = language
    staff.save()
    sign_in(page, live_server, "sam", PASSWORD)
    page.goto(f"{live_server.url}/monitoring/rota/")
    heading = page.locator("h1").inner_text()
    assert ("值班表" if language == "zh-hans" else "On-call rota") in heading
    assert_accessible(page)
    tomorrow = timezone.localdate(timezone.now()) + dt.timedelta(days=1)
    page.select_option("#id_shift-clinician", str(alice.pk))
    page.fill("#id_shift-start_date", tomorrow.isoformat())
    page.fill("#id_shift-start_time", "18:00")
    page.fill("#id_shift-end_date", (tomorrow + dt.timedelta(days=1)).isoformat())
    page.fill("#id_shift-end_time", "08:00")
    with page.expect_navigation():
        page.locator("form:has(#id_shift-clinician) button[type=submit]").click()
    shift = OnCallShift.objects.get()
    assert page.locator(f"#shift-{shift.pk}").is_visible()
    page.select_option("#id_lead-lead", str(alice.pk))
    with page.expect_navigation():
        page.locator("form:has(#id_lead-lead) button[type=submit]").click()
    assert CenterLead.objects.get().lead == alice
    assert_accessible(page)
    _fits_a_phone(page)


def test_a_mmol_clinician_enrols_a_patient_from_the_alerts_tab(page, live_server, alice, patient):
    alice.unit = "mmol/L"
    alice.save()
    consent_record(patient=patient, topic="remote_monitoring", given=True, by=patient.user)
    sign_in(page, live_server, "alice", PASSWORD)
    page.goto(f"{live_server.url}/patients/{patient.pk}/alerts/")
    assert page.locator("[data-consent=given]").is_visible()
    assert_accessible(page)
    page.fill("#enrol-urgent_low", "3.5")
    with page.expect_navigation():
        page.click("button[value=enrol]")
    assert page.locator("[data-enrolled=yes]").is_visible()
    enrolment = Enrolment.objects.get(patient=patient)
    assert enrolment.active and enrolment.thresholds == {"urgent_low_mg_dl": 63}
    assert page.locator("#enrol-urgent_low").input_value() == "3.5"
    assert_accessible(page)
    _fits_a_phone(page)
