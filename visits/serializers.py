"""Visit API serializers: inputs clean, outputs are explicit allow-lists (no clinical data)."""

from rest_framework import serializers

from accounts.models import User
from visits.models import CheckResult, Visit, VisitType


class VisitBookInput(serializers.Serializer):
    patient = serializers.IntegerField()
    clinician = serializers.IntegerField()
    visit_type = serializers.IntegerField()
    start = serializers.DateTimeField(help_text="ISO 8601 with offset")


class VisitRescheduleInput(serializers.Serializer):
    start = serializers.DateTimeField(help_text="ISO 8601 with offset")
    clinician = serializers.IntegerField(required=False, help_text="another clinician (optional)")


class VisitCancelInput(serializers.Serializer):
    reason = serializers.CharField(max_length=300)


class VisitRescheduleRequestInput(serializers.Serializer):
    note = serializers.CharField(max_length=300, required=False, allow_blank=True, default="")


class VisitCompleteInput(serializers.Serializer):
    checks_done = serializers.ListField(child=serializers.CharField(), required=False, default=list)
    hba1c_percent = serializers.DecimalField(
        max_digits=4, decimal_places=1, min_value=3, max_value=20, required=False, allow_null=True
    )
    eyes = serializers.ChoiceField(CheckResult.choices, required=False, allow_blank=True)
    egfr = serializers.IntegerField(min_value=1, max_value=200, required=False, allow_null=True)
    urine_acr_mg_g = serializers.DecimalField(
        max_digits=6, decimal_places=1, min_value=0, required=False, allow_null=True
    )
    feet = serializers.ChoiceField(CheckResult.choices, required=False, allow_blank=True)


class VisitOutput(serializers.ModelSerializer):
    patient_name = serializers.CharField(source="patient.name")
    clinician_name = serializers.CharField(source="clinician.__str__")
    visit_type_name = serializers.CharField(source="visit_type.label")
    mode = serializers.CharField(source="visit_type.mode")
    room_name = serializers.CharField(source="room.name", default=None)
    start = serializers.DateTimeField(source="start_at")
    end = serializers.DateTimeField(source="end_at")

    class Meta:
        model = Visit
        fields = [
            "id",
            "patient",
            "patient_name",
            "clinician",
            "clinician_name",
            "visit_type",
            "visit_type_name",
            "mode",
            "center",
            "room",
            "room_name",
            "start",
            "end",
            "status",
            "cancel_reason",
            "reschedule_requested",
        ]


class ConflictOutput(serializers.Serializer):
    detail = serializers.CharField()
    conflict = serializers.CharField(help_text='"clinician", "patient" or "room"')
    next_free = serializers.ListField(child=serializers.DictField())


class SlotOutput(serializers.Serializer):
    start = serializers.DateTimeField()
    end = serializers.DateTimeField()
    clinician = serializers.IntegerField(source="clinician_id")
    room = serializers.IntegerField(source="room_id", allow_null=True)


class ClinicianOutput(serializers.ModelSerializer):
    name = serializers.CharField(source="__str__")

    class Meta:
        model = User
        fields = ["id", "name", "role", "care_center"]


class VisitTypeOutput(serializers.ModelSerializer):
    roles = serializers.ListField(child=serializers.CharField(), source="role_list")
    label = serializers.CharField(help_text="The name in the request's language.")

    class Meta:
        model = VisitType
        fields = [
            "id",
            "code",
            "name",
            "label",
            "duration_minutes",
            "roles",
            "patient_bookable",
            "mode",
            "is_follow_up",
        ]
