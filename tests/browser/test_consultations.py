"""Issue #24 in the browser: a patient asks with a photo; their endocrinologist answers from
the studio (a saved reply in the patient's language) and opens the plan editor from the
consultation; the patient reads the answer in Chinese. Every consultation page fits a 390 px
phone without sideways scrolling and passes axe-core."""

import datetime as dt

import pytest

from care_plans.demo import seed_plans
from care_plans.services import care_plan_current
from consultations.models import Consultation, Photo, ReplyTemplate
from tests.browser.conftest import assert_accessible, sign_in
from tests.browser.test_care_plan_loop import load_cgm
from tests.conftest import PASSWORD
from tests.consultations.helpers import has_gps, jpeg_with_gps

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHONE = {"width": 390, "height": 844}


def fits_and_passes(page, what: str) -> None:
    overflow = page.evaluate(
        "document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert overflow <= 0, f"{what} scrolls sideways by {overflow} px"
    assert_accessible(page)


def switch_language(page, language):
    with page.expect_navigation():
        page.select_option("#language-select", language)
    page.wait_for_load_state("networkidle")


def test_a_patient_asks_and_reads_the_answer_in_chinese(page, live_server, alice, patient):
    end = dt.date.today() - dt.timedelta(days=1)
    load_cgm(patient, start=end - dt.timedelta(days=13), days=14)
    seed_plans([patient], [alice])
    ReplyTemplate.objects.create(
        owner=alice,
        title="After meals",
        text_en="Walk for 15 minutes after lunch.",
        text_zh="午饭后散步15分钟。",
    )
    patient.language = "zh-hans"
    patient.save()

    # The patient asks from their home page, on a phone, with a photo of their meal.
    page.set_viewport_size(PHONE)
    sign_in(page, live_server, "pat", PASSWORD)
    fits_and_passes(page, "home")
    page.click("#ask-care-team >> text=Ask a question")
    page.wait_for_load_state("networkidle")
    assert "emergency" in page.inner_text("#emergency").lower()
    fits_and_passes(page, "ask page")
    page.check("input[name=category][value=glucose]")
    page.fill("#id_text", "My glucose is high after lunch. Is it the rice?")
    page.set_input_files(
        "#id_photos",
        files=[{"name": "lunch.jpg", "mimeType": "image/jpeg", "buffer": jpeg_with_gps()}],
    )
    page.click("text=Send to my care team")
    page.wait_for_load_state("networkidle")
    consultation = Consultation.objects.get()
    assert page.url.endswith(f"/consultations/{consultation.pk}/")
    fits_and_passes(page, "thread (waiting)")
    stored = Photo.objects.get()
    with stored.file.open("rb") as f:
        assert not has_gps(f.read())
    page.context.clear_cookies()

    # The endocrinologist finds it in the inbox and answers in the studio.
    sign_in(page, live_server, "alice", PASSWORD)
    page.goto(f"{live_server.url}/consultations/")
    page.wait_for_load_state("networkidle")
    fits_and_passes(page, "inbox")
    page.click(f"[data-consultation='{consultation.pk}'] a")
    page.wait_for_load_state("networkidle")
    assert "Is it the rice?" in page.content()
    assert page.locator(".photos img").count() == 1
    fits_and_passes(page, "studio")
    page.select_option("#id_template", label="After meals")
    assert page.input_value("#id_answer_text") == "午饭后散步15分钟。"
    page.click("text=Send answer")
    page.wait_for_load_state("networkidle")
    assert Consultation.objects.get().state == "answered"
    # From the answer, the plan editor, prompted by this consultation.
    page.click("#change-plan")
    page.wait_for_load_state("networkidle")
    assert f"prompt=consultations.consultation:{consultation.pk}" in page.url
    assert f"consultation #{consultation.pk}" in page.inner_text("main")
    # Prefilled: the answer is in the patient's instructions; the clinician confirms it.
    assert "午饭后散步15分钟。" in page.input_value("[name=patient_instructions]")
    page.fill("[name=reason]", "Advice from the consultation")
    page.click("text=Review changes")
    page.wait_for_selector("text=Save this version")
    with page.expect_navigation():
        page.click("text=Save this version")
    version = care_plan_current(patient=patient)
    assert version.prompted_by == consultation
    page.context.clear_cookies()

    # The patient reads the answer, in Chinese.
    sign_in(page, live_server, "pat", PASSWORD)
    switch_language(page, "zh-hans")
    page.goto(f"{live_server.url}/consultations/")
    page.wait_for_load_state("networkidle")
    assert "新回复" in page.content()  # "New answer"
    fits_and_passes(page, "threads (zh)")
    page.click(f"[data-consultation='{consultation.pk}'] a")
    page.wait_for_load_state("networkidle")
    body = page.inner_text("main")
    assert "午饭后散步15分钟。" in body and "已回复" in body  # the answer; "Answered"
    fits_and_passes(page, "thread (zh)")
    page.goto(f"{live_server.url}/consultations/medication-requests/new/")
    page.wait_for_load_state("networkidle")
    fits_and_passes(page, "repeat request (zh)")
