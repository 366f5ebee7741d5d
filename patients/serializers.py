from rest_framework import serializers

from patients.models import Patient, validate_timezone

# What care-center staff may not change on a record (they keep demographics and contact
# details): diagnoses belong to the clinical team.
CLINICAL_FIELDS = ("diabetes_type", "diagnosis_date")


class PatientInput(serializers.ModelSerializer):
    """Writable fields, an allow-list: owner account, care center, care team, consent and
    timestamps are the server's (set by who creates the record, never by the body)."""

    timezone = serializers.CharField(validators=[validate_timezone])
    unit = serializers.ChoiceField(choices=["mg/dL", "mmol/L"], default="mg/dL")

    class Meta:
        model = Patient
        fields = [
            "mrn",
            "name",
            "birth_date",
            "sex",
            "diabetes_type",
            "diagnosis_date",
            "timezone",
            "unit",
            "language",
            "phone",
            "email",
        ]


class PatientOutput(serializers.ModelSerializer):
    """An explicit allow-list of what leaves the server."""

    care_center = serializers.StringRelatedField()
    endocrinologists = serializers.PrimaryKeyRelatedField(many=True, read_only=True)

    class Meta:
        model = Patient
        fields = [
            "id",
            "mrn",
            "name",
            "birth_date",
            "sex",
            "diabetes_type",
            "diagnosis_date",
            "timezone",
            "unit",
            "language",
            "care_center",
            "endocrinologists",
        ]
        read_only_fields = fields


class TriageRow(serializers.Serializer):
    """One triage row: the patient's 14-day figures (their own target range), flags and
    review state. Percentages are of CGM readings; ``meter_*`` of finger-sticks. mg/dL."""

    id = serializers.IntegerField(source="pk")
    mrn = serializers.CharField()
    name = serializers.CharField()
    diabetes_type = serializers.CharField()
    flags = serializers.ListField(child=serializers.CharField(), source="triage.flags")
    risk_step = serializers.IntegerField(source="triage.tier")
    mode = serializers.CharField(source="triage.mode")
    range_low_mg_dl = serializers.FloatField(source="triage.range_low")
    range_high_mg_dl = serializers.FloatField(source="triage.range_high")
    readings = serializers.IntegerField(source="triage.readings")
    active_percent = serializers.FloatField(source="triage.active_percent")
    mean_mg_dl = serializers.FloatField(source="triage.mean_mg_dl")
    cv_percent = serializers.FloatField(source="triage.cv_percent")
    gmi_percent = serializers.FloatField(source="triage.gmi_percent")
    in_range_percent = serializers.FloatField(source="triage.in_range_percent")
    below_range_percent = serializers.FloatField(source="triage.below_percent")
    below_70_percent = serializers.FloatField(source="triage.below_70_percent")
    very_low_percent = serializers.FloatField(source="triage.very_low_percent")
    above_180_percent = serializers.FloatField(source="triage.above_180_percent")
    very_high_percent = serializers.FloatField(source="triage.very_high_percent")
    gri = serializers.FloatField(source="triage.gri")
    gri_zone = serializers.CharField(source="triage.gri_zone")
    tir_change = serializers.FloatField(source="triage.tir_change")
    last_reading_at = serializers.DateTimeField(source="triage.last_reading_at")
    meter_per_day = serializers.FloatField(source="triage.meter_per_day")
    meter_mean_mg_dl = serializers.FloatField(source="triage.meter_mean_mg_dl")
    meter_below_range_percent = serializers.FloatField(source="triage.meter_below_percent")
    meter_adherence_percent = serializers.FloatField(source="triage.meter_adherence_percent")
    last_report_id = serializers.IntegerField(source="triage.last_report_id")
    last_report_at = serializers.DateTimeField(source="triage.last_report_at")
    report_unread = serializers.BooleanField()
    reviewed = serializers.BooleanField(source="triage.reviewed")
    reviewed_at = serializers.DateTimeField(source="triage.reviewed_at")
    reviewed_by = serializers.CharField(source="triage.reviewed_by", default=None)
    review_note = serializers.CharField(source="triage.review_note")
    plan_review_due = serializers.DateField(source="triage.plan_review_due")


class AuditOutput(serializers.Serializer):
    at = serializers.DateTimeField()
    user = serializers.CharField(source="user.username", default=None)
    patient = serializers.IntegerField(source="patient_id")
    action = serializers.CharField()
    what = serializers.CharField()
