"""The workspace API's rows: the triage queue and the audit trail."""

from rest_framework import serializers

# What care-center staff may not change on a record (they keep demographics and contact
# details): diagnoses belong to the clinical team.
CLINICAL_FIELDS = ("diabetes_type", "diagnosis_date")


class TriageRow(serializers.Serializer):
    """One triage row: the patient's 14-day figures (their own target range), flags and
    review state. Percentages are of CGM readings; ``meter_*`` of finger-sticks. mg/dL."""

    # A patient without a triage entry yet (never refreshed) has null figures.
    id = serializers.IntegerField(source="pk")
    mrn = serializers.CharField()
    name = serializers.CharField()
    diabetes_type = serializers.CharField()
    flags = serializers.ListField(
        child=serializers.CharField(), source="triage.flags", allow_null=True
    )
    risk_step = serializers.IntegerField(source="triage.tier", allow_null=True)
    mode = serializers.CharField(source="triage.mode", allow_null=True)
    range_low_mg_dl = serializers.FloatField(source="triage.range_low", allow_null=True)
    range_high_mg_dl = serializers.FloatField(source="triage.range_high", allow_null=True)
    readings = serializers.IntegerField(source="triage.readings", allow_null=True)
    active_percent = serializers.FloatField(source="triage.active_percent", allow_null=True)
    mean_mg_dl = serializers.FloatField(source="triage.mean_mg_dl", allow_null=True)
    cv_percent = serializers.FloatField(source="triage.cv_percent", allow_null=True)
    gmi_percent = serializers.FloatField(source="triage.gmi_percent", allow_null=True)
    in_range_percent = serializers.FloatField(source="triage.in_range_percent", allow_null=True)
    below_range_percent = serializers.FloatField(source="triage.below_percent", allow_null=True)
    below_70_percent = serializers.FloatField(source="triage.below_70_percent", allow_null=True)
    very_low_percent = serializers.FloatField(source="triage.very_low_percent", allow_null=True)
    above_180_percent = serializers.FloatField(source="triage.above_180_percent", allow_null=True)
    very_high_percent = serializers.FloatField(source="triage.very_high_percent", allow_null=True)
    gri = serializers.FloatField(source="triage.gri", allow_null=True)
    gri_zone = serializers.CharField(source="triage.gri_zone", allow_null=True)
    tir_change = serializers.FloatField(source="triage.tir_change", allow_null=True)
    last_reading_at = serializers.DateTimeField(source="triage.last_reading_at", allow_null=True)
    meter_per_day = serializers.FloatField(source="triage.meter_per_day", allow_null=True)
    meter_mean_mg_dl = serializers.FloatField(source="triage.meter_mean_mg_dl", allow_null=True)
    meter_below_range_percent = serializers.FloatField(
        source="triage.meter_below_percent", allow_null=True
    )
    meter_adherence_percent = serializers.FloatField(
        source="triage.meter_adherence_percent", allow_null=True
    )
    last_report_id = serializers.IntegerField(source="triage.last_report_id", allow_null=True)
    last_report_at = serializers.DateTimeField(source="triage.last_report_at", allow_null=True)
    report_unread = serializers.BooleanField()
    reviewed = serializers.BooleanField(source="triage.reviewed", allow_null=True)
    reviewed_at = serializers.DateTimeField(source="triage.reviewed_at", allow_null=True)
    reviewed_by = serializers.CharField(source="triage.reviewed_by", default=None, allow_null=True)
    review_note = serializers.CharField(source="triage.review_note", allow_null=True)
    plan_review_due = serializers.DateField(source="triage.plan_review_due", allow_null=True)


class AuditOutput(serializers.Serializer):
    at = serializers.DateTimeField()
    user = serializers.CharField(source="username")
    role = serializers.CharField()
    patient = serializers.IntegerField(source="patient_id", allow_null=True)
    action = serializers.CharField()
    what = serializers.CharField()
    outcome = serializers.CharField()
    ip = serializers.IPAddressField(allow_null=True)
