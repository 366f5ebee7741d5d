"""Keep triage entries current when what they summarise changes elsewhere.

Receivers, not calls inside other apps' services, so the apps below need not know about
triage; readings ingest sends ``readings_changed`` when rows or rollups landed.
"""

import functools

from django.conf import settings
from django.db import transaction
from django.db.models.signals import post_save
from django.dispatch import receiver

from care_plans.models import CarePlanVersion
from patients.models import Patient
from readings.signals import readings_changed
from reports.models import Report
from visits.models import VisitChange
from workspace.triage import triage_refresh, triage_report_added


@receiver(post_save, sender=Patient, dispatch_uid="triage_patient_saved")
def patient_saved(sender, instance, created, **kwargs):
    if created or (kwargs.get("update_fields") is None):
        triage_refresh(patient_ids=[instance.pk])


@receiver(post_save, sender=Report, dispatch_uid="triage_report_saved")
def report_saved(sender, instance, created, **kwargs):
    if created:  # the report fields only, when the rest of the entry is current
        triage_report_added(patient_id=instance.patient_id, report=instance)


@receiver(post_save, sender=CarePlanVersion, dispatch_uid="triage_plan_saved")
def plan_version_saved(sender, instance, created, **kwargs):
    if created:
        triage_refresh(patient_ids=[instance.plan.patient_id])


@receiver(post_save, sender=VisitChange, dispatch_uid="triage_visit_changed")
def visit_changed(sender, instance, created, **kwargs):
    """Book, move, check in, cancel, complete, no-show: each writes one ``VisitChange``."""
    if created:
        triage_refresh(patient_ids=[instance.visit.patient_id])


@receiver(readings_changed, dispatch_uid="triage_readings_changed")
def readings_stored(sender, patient_id, **kwargs):
    """Refresh the entry in the writer's transaction, or just after it commits where the
    setting ``TRIAGE_REFRESH_AFTER_COMMIT`` says so (SQLite's one write lock)."""
    if settings.TRIAGE_REFRESH_AFTER_COMMIT and transaction.get_connection().in_atomic_block:
        refresh = functools.partial(triage_refresh, patient_ids=[patient_id])
        transaction.on_commit(refresh, robust=True)
    else:
        triage_refresh(patient_ids=[patient_id])
