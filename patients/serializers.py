from rest_framework import serializers

from patients.models import Patient, validate_timezone


class PatientInput(serializers.ModelSerializer):
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
    """One triage row: 14-day figures from the daily rollups, and the flags raised."""

    id = serializers.IntegerField()
    mrn = serializers.CharField()
    name = serializers.CharField()
    diabetes_type = serializers.CharField()
    flags = serializers.ListField(child=serializers.CharField())
    readings = serializers.IntegerField(required=False, allow_null=True)
    active_percent = serializers.FloatField(required=False, allow_null=True)
    mean_mg_dl = serializers.FloatField(required=False, allow_null=True)
    cv_percent = serializers.FloatField(required=False, allow_null=True)
    gmi_percent = serializers.FloatField(required=False, allow_null=True)
    very_low_percent = serializers.FloatField(required=False, allow_null=True)
    low_percent = serializers.FloatField(required=False, allow_null=True)
    in_range_percent = serializers.FloatField(required=False, allow_null=True)
    high_percent = serializers.FloatField(required=False, allow_null=True)
    very_high_percent = serializers.FloatField(required=False, allow_null=True)
    gri = serializers.FloatField(required=False, allow_null=True)
    gri_zone = serializers.CharField(required=False, allow_null=True)


class AuditOutput(serializers.Serializer):
    at = serializers.DateTimeField()
    user = serializers.CharField(source="username")
    role = serializers.CharField()
    patient = serializers.IntegerField(source="patient_id", allow_null=True)
    action = serializers.CharField()
    what = serializers.CharField()
    outcome = serializers.CharField()
    ip = serializers.IPAddressField(allow_null=True)
