"""From an answer, the plan editor opens prefilled with a change (the answer added to the
patient's instructions); the saved version links the consultation (issue #24 §2, the editor's
``?prompt=`` of issue #22 §5)."""

import pytest
from django.urls import reverse

from care_plans.models import CarePlanVersion
from care_plans.services import care_plan_current, prompt_token
from consultations import services
from tests.care_plans.helpers import form_fields

pytestmark = pytest.mark.django_db

ANSWER = "Take your glargine at the same time every evening."


@pytest.fixture
def answered(with_data, alice):
    consultation = services.consultation_ask(
        patient=with_data, by=with_data.user, category="medication", text="When do I inject?"
    )
    services.consultation_post(consultation=consultation, by=alice, text=ANSWER)
    return consultation


def test_the_change_adds_the_latest_answer_to_the_instructions(answered):
    content = {"patient_instructions": "Check your feet daily.", "medications": []}
    changed = answered.plan_change(content)
    assert changed["patient_instructions"] == f"Check your feet daily.\n\n{ANSWER}"
    assert content["patient_instructions"] == "Check your feet daily."  # not mutated
    assert answered.plan_change(changed) == changed  # applied once


def test_before_an_answer_the_plan_is_unchanged(with_data):
    consultation = services.consultation_ask(
        patient=with_data, by=with_data.user, category="glucose", text="?"
    )
    content = {"patient_instructions": "x"}
    assert consultation.plan_change(content) == content


def test_the_editor_starts_from_it_and_the_version_links_the_consultation(
    client, alice, with_data, answered
):
    token = prompt_token(answered)
    assert token == f"consultations.consultation:{answered.pk}"
    client.force_login(alice)
    page = reverse("care-plans-detail", args=[with_data.pk])
    response = client.get(page, {"prompt": token})
    body = response.content.decode()
    assert f"consultation #{answered.pk}" in body
    data = form_fields(body)
    assert ANSWER in data["patient_instructions"][0]
    data["reason"] = ["Advice from the consultation"]
    preview = client.post(page, data)
    assert [c["field"] for c in preview.context["diff"]] == ["patient_instructions"]
    client.post(
        page,
        {
            "content_json": preview.context["content_json"],
            "reason": "Advice from the consultation",
            "prompt": token,
            "confirm": "1",
        },
    )
    version = care_plan_current(patient=with_data)
    assert version.prompted_by == answered
    assert list(CarePlanVersion.objects.prompted_by(answered)) == [version]
