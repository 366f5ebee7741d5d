"""Issue #24 in the browser: a patient asks with a photo; their endocrinologist answers from
the studio (a saved reply in the patient's language) and opens the plan editor from the
consultation; the patient reads the answer in Chinese. Every consultation page fits a 390 px
phone without sideways scrolling and passes axe-core."""

import datetime as dt
from pathlib import Path

import pytest

from accounts.templatetags.glucose import glucose
from care_plans.demo import seed_plans
from care_plans.services import care_plan_current, care_plan_default_content, care_plan_revise
from consultations.models import Consultation, MedicationRequest, Photo, ReplyTemplate
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
    snapshot = page.inner_text("[aria-labelledby=snapshot-title]")
    mean = glucose(consultation.snapshot["metrics"]["mean_mg_dl"], "mg/dL")
    assert f"{mean} mg/dL" in snapshot and "mmol/L" not in snapshot, snapshot
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


HEIC = Path(__file__).resolve().parents[1] / "fixtures" / "photos" / "pillow-heif__xiaomi.heic"


def test_a_chinese_mmol_clinician_answers_an_english_mg_dl_patient(
    page, live_server, alice, patient
):
    """The other language and unit on each side: the patient reads English and mg/dL and
    sends a real phone HEIC (GPS in its EXIF); the endocrinologist reads Chinese and mmol/L
    and sees the snapshot in mmol/L, answers, opens the prefilled plan change, decides a
    repeat request; the patient reads the answer and the decision in English."""
    end = dt.date.today() - dt.timedelta(days=1)
    load_cgm(patient, start=end - dt.timedelta(days=13), days=14)
    content = care_plan_default_content(patient=patient)
    content["medications"] = [
        {
            "kind": "insulin_basal",
            "product": "Insulin glargine",
            "dose": 18,
            "dose_unit": "U",
            "frequency": "once daily",
        }
    ]
    care_plan_revise(patient=patient, by=alice, reason="start", content=content)
    alice.language, alice.unit = "zh-hans", "mmol/L"
    alice.save()
    patient.user.language, patient.user.unit = "en", "mg/dL"
    patient.user.save()

    # The patient, in English, asks with a phone's HEIC photo and asks for a repeat.
    page.set_viewport_size(PHONE)
    sign_in(page, live_server, "pat", PASSWORD)
    page.goto(f"{live_server.url}/consultations/ask/")
    page.wait_for_load_state("networkidle")
    assert "emergency" in page.inner_text("#emergency").lower()
    fits_and_passes(page, "ask page (en)")
    page.check("input[name=category][value=medication]")
    page.fill("#id_text", "My pen photo: is this the right needle?")
    page.set_input_files(
        "#id_photos",
        files=[{"name": "IMG_0423.HEIC", "mimeType": "image/heic", "buffer": HEIC.read_bytes()}],
    )
    page.click("text=Send to my care team")
    page.wait_for_load_state("networkidle")
    consultation = Consultation.objects.get()
    assert page.url.endswith(f"/consultations/{consultation.pk}/")
    fits_and_passes(page, "thread (en, waiting)")
    stored = Photo.objects.get()
    assert stored.content_type == "image/jpeg" and (stored.width, stored.height) == (2560, 1920)
    with stored.file.open("rb") as f:
        assert not has_gps(f.read())
    page.goto(f"{live_server.url}/consultations/medication-requests/new/")
    page.wait_for_load_state("networkidle")
    page.check("input[name=medication][value='0']")
    page.fill("#id_quantity", "2")
    page.click("text=Send the request")
    page.wait_for_load_state("networkidle")
    fits_and_passes(page, "threads (en)")
    request = MedicationRequest.objects.get()
    page.context.clear_cookies()

    # The endocrinologist, in Chinese and mmol/L.
    sign_in(page, live_server, "alice", PASSWORD)
    page.goto(f"{live_server.url}/consultations/")
    page.wait_for_load_state("networkidle")
    assert "在线咨询" in page.inner_text("body")  # "Consultations"
    fits_and_passes(page, "inbox (zh)")
    page.click(f"[data-consultation='{consultation.pk}'] a")
    page.wait_for_load_state("networkidle")
    assert "is this the right needle?" in page.content()
    assert page.locator(".photos img").count() == 1
    snapshot = page.inner_text("[aria-labelledby=snapshot-title]")
    metrics = consultation.snapshot["metrics"]
    mean = glucose(metrics["mean_mg_dl"], "mmol/L")
    assert "mmol/L" in snapshot and "mg/dL" not in snapshot
    assert f"{mean} mmol/L" in snapshot, snapshot
    assert f"{glucose(70, 'mmol/L')}–{glucose(180, 'mmol/L')}" in snapshot
    assert "平均葡萄糖" in snapshot  # "Mean glucose", in Chinese
    fits_and_passes(page, "studio (zh, mmol/L)")
    page.fill("#id_answer_text", "Yes, 4 mm needles are right for you.")
    page.click("#answer-form button[type=submit]")
    page.wait_for_load_state("networkidle")
    assert Consultation.objects.get().state == "answered"
    page.click("#change-plan")
    page.wait_for_load_state("networkidle")
    assert f"prompt=consultations.consultation:{consultation.pk}" in page.url
    assert "Yes, 4 mm needles are right for you." in page.input_value("[name=patient_instructions]")
    page.fill("[name=reason]", "From the consultation")
    page.click("#care-plan-editor form button.primary[type=submit]")  # Review changes
    page.wait_for_selector("button[name=confirm]")
    with page.expect_navigation():
        page.click("button[name=confirm]")  # Save this version
    assert care_plan_current(patient=patient).prompted_by == consultation
    page.goto(f"{live_server.url}/consultations/templates/")
    page.wait_for_load_state("networkidle")
    fits_and_passes(page, "saved replies (zh)")
    page.goto(f"{live_server.url}/consultations/medication-requests/{request.pk}/")
    page.wait_for_load_state("networkidle")
    fits_and_passes(page, "repeat request (zh, clinician)")
    with page.expect_navigation():
        page.click("button[name=decision][value=approve]")
    assert MedicationRequest.objects.get().state == "approved"
    page.context.clear_cookies()

    # The patient reads the answer and the approval in English.
    sign_in(page, live_server, "pat", PASSWORD)
    page.goto(f"{live_server.url}/consultations/")
    page.wait_for_load_state("networkidle")
    assert "New answer" in page.content()
    fits_and_passes(page, "threads (en, answered)")
    page.click(f"[data-consultation='{consultation.pk}'] a")
    page.wait_for_load_state("networkidle")
    body = page.inner_text("main")
    assert "Yes, 4 mm needles are right for you." in body and "Answered" in body
    fits_and_passes(page, "thread (en, answered)")
    page.goto(f"{live_server.url}/consultations/medication-requests/{request.pk}/")
    page.wait_for_load_state("networkidle")
    assert "slip" in page.inner_text("main").lower()
    fits_and_passes(page, "repeat request (en, approved)")
