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
