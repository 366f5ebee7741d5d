"""Versions are signed records: numbered once per plan, never changed or deleted."""

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from care_plans.models import CarePlan, CarePlanVersion
from care_plans.services import care_plan_default_content, care_plan_revise


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
    CarePlanVersion.objects.filter(pk=version.pk).update(responds_to_report_id=report.pk)
    report.delete()
    version.refresh_from_db()
    assert version.responds_to_report is None
