"""Anything can prompt a plan change (issue #22 §5 generic link; #21 suggestions and #24
consultations use it): the editor and the API take ``prompt=app_label.model:id``, start from
the change it proposes, and the saved version links it. A consent record stands in here for
a prompting model (it opts in for the test only)."""

import pytest
from django.urls import reverse

from care_plans.models import CarePlanVersion
from care_plans.services import care_plan_default_content, care_plan_revise, prompt_token
from patients.models import Consent

from .helpers import form_fields


@pytest.fixture
def prompting(monkeypatch):
    """Consent opts in as a prompt that proposes weekly reports."""

    def plan_change(self, content):
        return {**content, "report_cadence_days": 7}

    monkeypatch.setattr(Consent, "prompts_plan_changes", True, raising=False)
    monkeypatch.setattr(Consent, "plan_change", plan_change, raising=False)
    monkeypatch.setattr(Consent, "__str__", lambda self: f"question #{self.pk}")


def _prompt(patient):
    return Consent.objects.create(
        patient=patient, topic=Consent.Topic.CARE, version="1", text="yes", given=True
    )


@pytest.fixture
def first(patient, alice):
    return care_plan_revise(
        patient=patient,
        by=alice,
        reason="First plan",
        content=care_plan_default_content(patient=patient),
    )


def test_the_editor_starts_from_the_proposed_change_and_the_version_links_it(
    client, alice, patient, first, prompting
):
    prompt = _prompt(patient)
    client.force_login(alice)
    page = reverse("care-plans-detail", args=[patient.pk])
    response = client.get(page, {"prompt": prompt_token(prompt)})
    body = response.content.decode()
    assert f"question #{prompt.pk}" in body
    data = form_fields(body)
    assert data["report_cadence_days"] == ["7"] and data["prompt"] == [prompt_token(prompt)]
    data["reason"] = ["Asked for weekly reports"]
    preview = client.post(page, data)
    assert [c["field"] for c in preview.context["diff"]] == ["report_cadence_days"]
    assert not CarePlanVersion.objects.filter(number=2).exists()  # never applied by itself
    client.post(
        page,
        {
            "content_json": preview.context["content_json"],
            "reason": "Asked for weekly reports",
            "prompt": prompt_token(prompt),
            "confirm": "1",
        },
    )
    second = CarePlanVersion.objects.get(plan__patient=patient, number=2)
    assert second.prompted_by == prompt and second.report_cadence_days == 7
    assert list(CarePlanVersion.objects.prompted_by(prompt)) == [second]


@pytest.mark.parametrize(
    "token",
    [
        "patients.consent:{other}",  # another patient's
        "accounts.user:1",  # a model that does not prompt changes
        "nope.nothing:1",
        "patients.consent:-1",
        "patients.consent:" + "9" * 400,
        "patients.consent:１",  # a full-width digit
        "patients.consent",
        "x" * 500,
    ],
)
def test_the_editor_ignores_a_prompt_outside_the_patient(
    client, alice, patient, other_patient, first, prompting, token
):
    other = _prompt(other_patient)
    client.force_login(alice)
    page = reverse("care-plans-detail", args=[patient.pk])
    response = client.get(page, {"prompt": token.format(other=other.pk)})
    assert response.status_code == 200
    assert form_fields(response.content.decode())["report_cadence_days"] == ["14"]
    assert "prompt" not in response.context or response.context.get("prompt") is None


def test_the_api_links_a_prompt_and_refuses_a_foreign_one(
    client, alice, patient, other_patient, first, prompting
):
    client.force_login(alice)
    url = reverse("api-patients-care-plan", args=[patient.pk])
    foreign = _prompt(other_patient)
    refused = client.post(
        url,
        {"reason": "x", "report_cadence_days": 7, "prompt": prompt_token(foreign)},
        content_type="application/json",
    )
    assert refused.status_code == 400 and list(refused.json()["detail"]) == ["prompt"]
    prompt = _prompt(patient)
    saved = client.post(
        url,
        {"reason": "Asked", "report_cadence_days": 7, "prompt": prompt_token(prompt)},
        content_type="application/json",
    )
    assert saved.status_code == 201, saved.content
    assert saved.json()["prompted_by"] == f"patients.consent:{prompt.pk}"
    assert CarePlanVersion.objects.get(plan__patient=patient, number=2).prompted_by == prompt


def test_the_demos_second_version_always_changes_something(patient, alice):
    """seed_demo crashed (NothingChanged) for a patient whose first plan already reported
    weekly and took no basal insulin or metformin: the second version must differ."""
    from care_plans.demo import _second_content
    from care_plans.services import care_plan_diff

    first = care_plan_revise(
        patient=patient,
        by=alice,
        reason="First plan",
        content={
            **care_plan_default_content(patient=patient),
            "medications": [],
            "report_cadence_days": 7,
        },
    )
    content, reason = _second_content(patient, first.content, alice)
    assert reason and care_plan_diff(old=first, new=content)
