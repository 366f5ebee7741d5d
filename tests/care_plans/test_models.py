"""Versions are signed records: numbered once per plan, never changed or deleted."""

import pytest
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from care_plans.models import CarePlan, CarePlanVersion
from care_plans.services import care_plan_default_content, care_plan_revise
from patients.models import Consent


@pytest.fixture
def version(patient, alice):
    return care_plan_revise(
        patient=patient,
        by=alice,
        reason="First plan",
        content=care_plan_default_content(patient=patient),
    )


def test_it_refuses_to_change_a_saved_version(version):
    version.reason = "rewritten history"
    with pytest.raises(ValidationError):
        version.save()
    version.refresh_from_db()
    assert version.reason == "First plan"


def test_it_refuses_to_delete_a_version(version):
    with pytest.raises(ValidationError):
        version.delete()
    assert CarePlanVersion.objects.filter(pk=version.pk).exists()


def test_it_refuses_a_duplicate_number_in_the_database(version, alice):
    with pytest.raises(IntegrityError), transaction.atomic():
        CarePlanVersion.objects.create(
            plan=version.plan, number=1, created_by=alice, reason="dup", content=version.content
        )


def test_it_refuses_a_report_cadence_outside_the_allowed_values(version, alice):
    content = {**version.content, "report_cadence_days": 10}
    with pytest.raises(IntegrityError), transaction.atomic():
        CarePlanVersion.objects.create(
            plan=version.plan, number=2, created_by=alice, reason="x", content=content
        )


def test_it_refuses_an_empty_reason_in_the_database(version, alice):
    with pytest.raises(IntegrityError), transaction.atomic():
        CarePlanVersion.objects.create(
            plan=version.plan, number=2, created_by=alice, reason="", content=version.content
        )


def test_it_keeps_one_plan_per_patient(version, patient):
    with pytest.raises(IntegrityError), transaction.atomic():
        CarePlan.objects.create(patient=patient)


def test_it_copies_the_cadences_into_columns(version):
    assert version.report_cadence_days == 14
    assert version.visit_cadence_days == 90
    assert version.review_interval_days == 90


def test_it_resolves_the_report_it_responds_to(patient, alice, make_report):
    report = make_report(patient)
    version = care_plan_revise(
        patient=patient,
        by=alice,
        reason="After report",
        content=care_plan_default_content(patient=patient),
        responds_to_report_id=report.pk,
    )
    assert version.responds_to_report == report


def test_it_resolves_a_deleted_report_to_none(version, make_report, patient):
    report = make_report(patient)
    CarePlanVersion.objects.filter(pk=version.pk).update(
        prompted_by_type=ContentType.objects.get_for_model(report), prompted_by_id=report.pk
    )
    report.delete()
    version.refresh_from_db()
    assert version.responds_to_report is None


def test_any_object_of_the_patients_can_prompt_a_version(patient, alice, make_report):
    """The one generic link (issue #22 §5): a prompt other than a report — here a consent
    record stands in for a suggestion or a consultation — is stored and found again."""
    prompt = Consent.objects.create(
        patient=patient, topic=Consent.Topic.CARE, version="1", text="yes", given=True
    )
    version = care_plan_revise(
        patient=patient,
        by=alice,
        reason="Asked in a consultation",
        content=care_plan_default_content(patient=patient),
        prompted_by=prompt,
    )
    version.refresh_from_db()
    assert version.prompted_by == prompt
    assert version.responds_to_report_id is None and version.responds_to_report is None
    assert list(CarePlanVersion.objects.prompted_by(prompt)) == [version]
    assert not CarePlanVersion.objects.prompted_by(make_report(patient)).exists()


def test_another_patients_object_cannot_prompt_a_version(patient, other_patient, alice):
    prompt = Consent.objects.create(
        patient=other_patient, topic=Consent.Topic.CARE, version="1", text="yes", given=True
    )
    with pytest.raises(ValidationError) as caught:
        care_plan_revise(
            patient=patient,
            by=alice,
            reason="x",
            content=care_plan_default_content(patient=patient),
            prompted_by=prompt,
        )
    assert list(caught.value.message_dict) == ["prompted_by"]
    assert not CarePlanVersion.objects.filter(plan__patient=patient).exists()


def test_a_prompt_is_whole_or_absent(version, make_report, patient):
    report = make_report(patient)
    with pytest.raises(IntegrityError), transaction.atomic():
        CarePlanVersion.objects.filter(pk=version.pk).update(prompted_by_id=report.pk)
