"""The workspace's own tables: each patient's triage entry, monthly summaries and reviews.

They were created by ``patients`` and keep its table names (``db_table``); migration
``workspace.0001`` only moved them in Django's state (issue #22).
"""

from django.conf import settings
from django.db import models


class TriageEntry(models.Model):
    """A patient's triage figures and flags, kept up to date on write (``workspace.triage``).

    One row per patient, rewritten whenever readings, reports, reviews or care plans change
    and when the 14-day window moves at the patient's local midnight, so the triage page
    sorts, filters and pages with one indexed query instead of recomputing every patient.
    Percentages are of CGM readings (``mode`` "cgm") or of finger-sticks (``meter_*``).
    """

    patient = models.OneToOneField(
        "patients.Patient", on_delete=models.CASCADE, primary_key=True, related_name="triage"
    )
    computed_at = models.DateTimeField()
    computed_for = models.DateField(help_text="The patient's local date the window ends on.")
    mode = models.CharField(max_length=8, default="none")  # cgm | meter | none
    range_low = models.FloatField(default=70)
    range_high = models.FloatField(default=180)
    readings = models.IntegerField(default=0)
    active_percent = models.FloatField(null=True)
    mean_mg_dl = models.FloatField(null=True)
    cv_percent = models.FloatField(null=True)
    gmi_percent = models.FloatField(null=True)
    in_range_percent = models.FloatField(null=True, help_text="In the plan's target range.")
    below_percent = models.FloatField(null=True, help_text="Below the plan's lower limit.")
    below_70_percent = models.FloatField(null=True)
    very_low_percent = models.FloatField(null=True)
    above_180_percent = models.FloatField(null=True)
    very_high_percent = models.FloatField(null=True)
    gri = models.FloatField(null=True)
    gri_zone = models.CharField(max_length=1, blank=True)
    gri_hypo = models.FloatField(null=True)
    gri_hyper = models.FloatField(null=True)
    tir_previous = models.FloatField(null=True)
    tir_change = models.FloatField(null=True)
    meter_per_day = models.FloatField(null=True)
    meter_mean_mg_dl = models.FloatField(null=True)
    meter_below_percent = models.FloatField(null=True)
    meter_very_low_percent = models.FloatField(null=True)
    meter_adherence_percent = models.FloatField(null=True)
    last_reading_at = models.DateTimeField(null=True)
    flags = models.JSONField(default=list)
    flag_list = models.CharField(max_length=300, default=",")  # ",very_low,low," for filters
    tier = models.SmallIntegerField(default=5)
    risk_rank = models.IntegerField(default=0)
    last_report_id = models.BigIntegerField(null=True)
    last_report_at = models.DateTimeField(null=True)
    plan_version = models.PositiveIntegerField(null=True)
    plan_preset = models.CharField(max_length=40, blank=True)
    plan_review_due = models.DateField(null=True)
    next_visit_at = models.DateTimeField(null=True)
    visit_due = models.DateField(null=True)
    changed_at = models.DateTimeField(help_text="When the flags last changed or a report came.")
    reviewed_at = models.DateTimeField(null=True)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    review_note = models.TextField(blank=True)
    reviewed = models.BooleanField(default=False, help_text="Reviewed since the last change.")

    class Meta:
        db_table = "patients_triageentry"  # created by patients (issue #22 moved the model)
        indexes = [
            # The queue reads ``ORDER BY <key>, risk_rank, ... LIMIT 25``: each index gives
            # that order so the scan stops after a page (workspace.triage.triage_list).
            models.Index(fields=["risk_rank", "patient"], name="triage_risk"),
            models.Index(fields=["gri", "risk_rank"], name="triage_gri"),
            models.Index(fields=["in_range_percent", "risk_rank"], name="triage_tir"),
            models.Index(fields=["last_reading_at", "risk_rank"], name="triage_last_reading"),
            models.Index(fields=["reviewed_at", "risk_rank"], name="triage_reviewed_at"),
            models.Index(fields=["tir_change", "risk_rank"], name="triage_tir_change"),
            models.Index(fields=["mode", "risk_rank"], name="triage_mode_risk"),
            models.Index(fields=["reviewed", "risk_rank"], name="triage_reviewed_risk"),
        ]


class MonthlySummary(models.Model):
    """A patient's CGM figures for one local month, from the daily rollups.

    Rewritten with the patient's ``TriageEntry`` (``workspace.triage.triage_refresh``), so the
    population view reads one small row per patient and month instead of summing rollups.
    Percentages use the consensus 70–180 mg/dL bands.
    """

    patient = models.ForeignKey("patients.Patient", on_delete=models.CASCADE, related_name="+")
    month = models.DateField(help_text="The first day of the month.")
    readings = models.IntegerField()
    in_range_percent = models.FloatField()
    below_70_percent = models.FloatField()
    very_low_percent = models.FloatField()
    above_180_percent = models.FloatField()
    very_high_percent = models.FloatField()
    cv_percent = models.FloatField(null=True)

    class Meta:
        db_table = "patients_monthlysummary"  # created by patients (issue #22 moved the model)
        constraints = [
            models.UniqueConstraint(fields=["patient", "month"], name="monthly_summary_unique")
        ]
        indexes = [models.Index(fields=["month", "patient"], name="monthly_summary_month")]


class TriageReview(models.Model):
    """ "I have looked at this patient": who, when, and an optional note (append-only)."""

    patient = models.ForeignKey(
        "patients.Patient", on_delete=models.CASCADE, related_name="reviews"
    )
    by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    at = models.DateTimeField(auto_now_add=True, db_index=True)
    note = models.TextField(blank=True)

    class Meta:
        db_table = "patients_triagereview"  # created by patients (issue #22 moved the model)
        ordering = ["-at"]
