"""A database whose plan versions name their report as a plain integer
(``responds_to_report_id``, before issue #22 §5) migrates to the generic "prompted by" link
without losing a link, and back."""

import datetime as dt

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

OLD = ("care_plans", "0001_initial")
NEW = ("care_plans", "0002_prompted_by")


def _migrate(target):
    """Migrate to ``target``: OLD puts care_plans back at 0001 with every app whose newest
    migration needs care_plans' 0002 left out (as the database was before it); NEW puts every
    app at its newest."""
    executor = MigrationExecutor(connection)
    graph = executor.loader.graph
    if target == OLD:
        plan = [OLD] + [
            leaf
            for leaf in graph.leaf_nodes()
            if leaf[0] != "care_plans" and NEW not in graph.forwards_plan(leaf)
        ]
    else:
        plan = graph.leaf_nodes()
    executor.migrate(plan)
    executor.loader.build_graph()
    return executor.loader.project_state(plan).apps


@pytest.mark.django_db(transaction=True)
def test_it_keeps_each_versions_report_across_the_migration_and_back():
    apps = _migrate(OLD)
    User = apps.get_model("accounts", "User")
    Patient = apps.get_model("patients", "Patient")
    Report = apps.get_model("reports", "Report")
    Plan = apps.get_model("care_plans", "CarePlan")
    Version = apps.get_model("care_plans", "CarePlanVersion")
    doctor = User.objects.create(username="dr.old", role="endocrinologist")
    patient = Patient.objects.create(
        mrn="OLD-1", name="Old Record", birth_date=dt.date(1970, 1, 2), diabetes_type="T2"
    )
    report = Report.objects.create(
        patient=patient, period_start=dt.date(2026, 11, 1), period_end=dt.date(2026, 11, 14)
    )
    plan = Plan.objects.create(patient=patient)
    linked = Version.objects.create(
        plan=plan,
        number=1,
        created_by=doctor,
        reason="after report",
        content={},
        responds_to_report_id=report.pk,
    )
    plain = Version.objects.create(
        plan=plan, number=2, created_by=doctor, reason="plain", content={}
    )

    apps = _migrate(NEW)
    Version = apps.get_model("care_plans", "CarePlanVersion")
    ContentType = apps.get_model("contenttypes", "ContentType")
    report_type = ContentType.objects.get(app_label="reports", model="report")
    assert Version.objects.filter(
        pk=linked.pk, prompted_by_type=report_type, prompted_by_id=report.pk
    ).exists()
    assert Version.objects.filter(pk=plain.pk, prompted_by_type=None, prompted_by_id=None).exists()

    from care_plans.models import CarePlanVersion

    assert CarePlanVersion.objects.get(pk=linked.pk).responds_to_report_id == report.pk

    apps = _migrate(OLD)
    Version = apps.get_model("care_plans", "CarePlanVersion")
    assert Version.objects.get(pk=linked.pk).responds_to_report_id == report.pk
    assert Version.objects.get(pk=plain.pk).responds_to_report_id is None
    _migrate(NEW)
