"""A database migrated on the code before issue #22 (triage tables owned by ``patients``)
migrates forward to ``workspace`` owning them, without losing a row."""

import datetime as dt

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

# The leaf migration of ``patients`` before the split; every other app's leaf then was its
# current one, and ``workspace`` and ``monitoring`` (issue #20, after the split) did not exist.
OLD_PATIENTS_LEAF = ("patients", "0008_dates_in_the_calendar")


def _old_leaves(executor) -> list[tuple[str, str]]:
    """Every app at its newest, but patients at the old leaf and the apps whose newest
    migration needs a later patients migration left out (workspace, and the apps built after
    the split: monitoring, consultations)."""
    graph = executor.loader.graph
    later = {node for node in graph.leaf_nodes() if node[0] == "patients"}
    later = {n for leaf in later for n in graph.forwards_plan(leaf) if n[0] == "patients"}
    later -= set(graph.forwards_plan(OLD_PATIENTS_LEAF))
    leaves = [
        node
        for node in graph.leaf_nodes()
        if node[0] != "patients" and not later & set(graph.forwards_plan(node))
    ]
    return [OLD_PATIENTS_LEAF, *leaves]


@pytest.mark.django_db(transaction=True)
def test_it_keeps_triage_rows_when_an_old_database_migrates_forward():
    executor = MigrationExecutor(connection)
    old = _old_leaves(executor)
    executor.migrate(old)
    executor.loader.build_graph()
    apps = executor.loader.project_state(old).apps
    User = apps.get_model("accounts", "User")
    Patient = apps.get_model("patients", "Patient")
    doctor = User.objects.create(username="dr.old", role="endocrinologist")
    patient = Patient.objects.create(
        mrn="OLD-1", name="Old Record", birth_date=dt.date(1970, 1, 2), diabetes_type="T1"
    )
    now = timezone.now()
    apps.get_model("patients", "TriageEntry").objects.create(
        patient=patient,
        computed_at=now,
        computed_for=dt.date(2026, 11, 30),
        changed_at=now,
        gri=42.5,
        flags=["very_low"],
        reviewed_by=doctor,
    )
    apps.get_model("patients", "MonthlySummary").objects.create(
        patient=patient,
        month=dt.date(2026, 11, 1),
        readings=8000,
        in_range_percent=71.0,
        below_70_percent=3.0,
        very_low_percent=0.5,
        above_180_percent=20.0,
        very_high_percent=5.5,
        cv_percent=33.0,
    )
    apps.get_model("patients", "TriageReview").objects.create(
        patient=patient, by=doctor, note="seen"
    )

    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())

    from workspace.models import MonthlySummary, TriageEntry, TriageReview

    entry = TriageEntry.objects.get(patient_id=patient.pk)
    assert (entry.gri, entry.flags, entry.reviewed_by_id) == (42.5, ["very_low"], doctor.pk)
    summary = MonthlySummary.objects.get(patient_id=patient.pk)
    assert (summary.month, summary.readings, summary.in_range_percent) == (
        dt.date(2026, 11, 1),
        8000,
        71.0,
    )
    review = TriageReview.objects.get(patient_id=patient.pk)
    assert (review.by_id, review.note) == (doctor.pk, "seen")
