"""Visit API serializers: inputs clean, outputs are explicit allow-lists (no clinical data)."""

from rest_framework import serializers

from accounts.models import User
from glycemia.hba1c import UNITS as HBA1C_UNITS
from glycemia.hba1c import mmol_mol_from_percent
from visits.models import CheckResult, FootRisk, RetinopathyGrade, Visit, VisitType
from visits.services.results import ACR_UNITS, acr_mg_mmol


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
    urine_acr = serializers.DecimalField(
        max_digits=6,
        decimal_places=1,
        min_value=0,
        required=False,
        allow_null=True,
        help_text="with urine_acr_unit: mg/mmol (0–3393.7) or mg/g (0–30000); kept in mg/g",
    )
    urine_acr_unit = serializers.ChoiceField(ACR_UNITS, required=False, allow_blank=True)
    # Issue #19 §5/§7: HbA1c in either unit, and the other results as data with their unit.
    hba1c = serializers.DecimalField(
        max_digits=5,
        decimal_places=2,
        required=False,
        allow_null=True,
        help_text="with hba1c_unit; % (3–20) or mmol/mol (9–195, whole)",
    )
    hba1c_unit = serializers.ChoiceField(HBA1C_UNITS, required=False, allow_blank=True)
    systolic_mm_hg = serializers.IntegerField(
        min_value=50, max_value=300, required=False, allow_null=True
    )
    diastolic_mm_hg = serializers.IntegerField(
        min_value=20, max_value=200, required=False, allow_null=True
    )
    weight_kg = serializers.DecimalField(
        max_digits=4, decimal_places=1, min_value=1, max_value=500, required=False, allow_null=True
    )
    retinopathy_grade = serializers.ChoiceField(
        RetinopathyGrade.choices, required=False, allow_blank=True
    )
    foot_risk = serializers.ChoiceField(FootRisk.choices, required=False, allow_blank=True)


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


class VisitResultsOutput(serializers.Serializer):
    """A completed visit's results, for the patient's clinical team only (``VisitWith
    ResultsOutput``). HbA1c in both units; numbers at full precision."""

    hba1c_percent = serializers.DecimalField(max_digits=4, decimal_places=1, allow_null=True)
    hba1c_mmol_mol = serializers.IntegerField(allow_null=True)
    systolic_mm_hg = serializers.IntegerField(allow_null=True)
    diastolic_mm_hg = serializers.IntegerField(allow_null=True)
    weight_kg = serializers.DecimalField(max_digits=4, decimal_places=1, allow_null=True)
    egfr = serializers.IntegerField(allow_null=True)
    urine_acr_mg_g = serializers.DecimalField(max_digits=6, decimal_places=1, allow_null=True)
    urine_acr_mg_mmol = serializers.SerializerMethodField()
    eyes = serializers.CharField()
    retinopathy_grade = serializers.CharField()
    feet = serializers.CharField()
    foot_risk = serializers.CharField()
    checks_done = serializers.ListField(child=serializers.CharField())

    def get_urine_acr_mg_mmol(self, completion) -> str | None:
        value = acr_mg_mmol(completion.urine_acr_mg_g)
        return None if value is None else str(value)


class VisitWithResultsOutput(VisitOutput):
    """The visit and, once completed, its results (``hba1c_percent`` and ``hba1c_mmol_mol``
    side by side, and ``results``): answered to the patient's clinical team only."""

    hba1c_percent = serializers.SerializerMethodField()
    hba1c_mmol_mol = serializers.SerializerMethodField()
    results = serializers.SerializerMethodField()

    class Meta(VisitOutput.Meta):
        fields = [*VisitOutput.Meta.fields, "hba1c_percent", "hba1c_mmol_mol", "results"]

    @staticmethod
    def _completion(visit):
        return getattr(visit, "completion", None)

    def get_hba1c_percent(self, visit) -> str | None:
        completion = self._completion(visit)
        value = completion.hba1c_percent if completion else None
        return None if value is None else str(value)

    def get_hba1c_mmol_mol(self, visit) -> int | None:
        completion = self._completion(visit)
        if completion is None or completion.hba1c_percent is None:
            return None
        return completion.hba1c_mmol_mol or mmol_mol_from_percent(completion.hba1c_percent)

    def get_results(self, visit) -> dict | None:
        completion = self._completion(visit)
        if completion is None:
            return None
        data = VisitResultsOutput(completion).data
        data["hba1c_mmol_mol"] = self.get_hba1c_mmol_mol(visit)
        return data
