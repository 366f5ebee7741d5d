"""API input and output of care plans.

Input serializers only check types (like forms, they clean input); the clinical rules live in
``care_plans.services.care_plan_validate`` so the API and the page refuse the same things.
Output serializers are explicit allow-lists. Choice-like fields are documented as text with
their allowed values rather than as enums, so the schema has no enum-name collisions.
"""

from rest_framework import serializers

from care_plans.models import REPORT_CADENCE_DAYS, REVIEW_INTERVAL_DAYS, VISIT_CADENCE_DAYS
from care_plans.services import CHECKS, DOSE_UNITS, GOAL_LABELS, MEDICATION_KINDS, SMBG_TAGS


def _choices(values) -> str:
    return "One of: " + ", ".join(str(v) for v in values) + "."


class CarePlanGoalSerializer(serializers.Serializer):
    key = serializers.CharField(help_text=_choices(GOAL_LABELS))
    label = serializers.CharField(required=False, allow_blank=True)
    comparison = serializers.CharField(help_text=_choices([">", ">=", "<", "<="]))
    target = serializers.FloatField(help_text="Percent, 0-100.")


class CarePlanTargetsSerializer(serializers.Serializer):
    preset = serializers.CharField(
        required=False, help_text="A glycemia.targets preset key or 'custom'."
    )
    label = serializers.CharField(required=False, allow_blank=True)
    range_low = serializers.FloatField(help_text="mg/dL, 50-250.")
    range_high = serializers.FloatField(help_text="mg/dL, 50-250, above range_low.")
    goals = CarePlanGoalSerializer(many=True, required=False)


class CarePlanMedicationSerializer(serializers.Serializer):
    kind = serializers.CharField(help_text=_choices(MEDICATION_KINDS))
    product = serializers.CharField(allow_blank=True)
    dose = serializers.FloatField()
    dose_unit = serializers.CharField(allow_blank=True, help_text=_choices(DOSE_UNITS))
    timing = serializers.CharField(required=False, allow_blank=True)
    frequency = serializers.CharField(required=False, allow_blank=True)
    carb_ratio_g_per_u = serializers.FloatField(required=False, allow_null=True)
    correction_factor_mg_dl_per_u = serializers.FloatField(required=False, allow_null=True)
    titration_rule = serializers.CharField(required=False, allow_blank=True)


class CarePlanDietSerializer(serializers.Serializer):
    carb_g_per_day = serializers.FloatField(required=False, allow_null=True)
    kcal_per_day = serializers.FloatField(required=False, allow_null=True)
    notes = serializers.CharField(required=False, allow_blank=True)


class CarePlanExerciseSerializer(serializers.Serializer):
    minutes_per_week = serializers.FloatField(required=False, allow_null=True)
    notes = serializers.CharField(required=False, allow_blank=True)


class CarePlanMonitoringSerializer(serializers.Serializer):
    mode = serializers.CharField(help_text=_choices(["cgm", "smbg"]))
    cgm_wear_goal_percent = serializers.FloatField(required=False, allow_null=True)
    smbg_readings_per_day = serializers.IntegerField(required=False, allow_null=True)
    smbg_tags = serializers.ListField(
        child=serializers.CharField(), required=False, help_text=_choices(SMBG_TAGS)
    )
    seven_point_before_visits = serializers.BooleanField(required=False)


class CarePlanCheckSerializer(serializers.Serializer):
    key = serializers.CharField(help_text=_choices(CHECKS))
    label = serializers.CharField(required=False, allow_blank=True)
    interval_days = serializers.IntegerField()


class CarePlanContentSerializer(serializers.Serializer):
    """The plan itself; glucose in mg/dL."""

    targets = CarePlanTargetsSerializer(required=False)
    hba1c_goal_percent = serializers.FloatField(required=False, allow_null=True)
    medications = CarePlanMedicationSerializer(many=True, required=False)
    diet = CarePlanDietSerializer(required=False)
    exercise = CarePlanExerciseSerializer(required=False)
    monitoring = CarePlanMonitoringSerializer(required=False)
    report_cadence_days = serializers.IntegerField(
        required=False, help_text=_choices(REPORT_CADENCE_DAYS)
    )
    visit_cadence_days = serializers.IntegerField(
        required=False, help_text=_choices(VISIT_CADENCE_DAYS)
    )
    review_interval_days = serializers.IntegerField(
        required=False, help_text=_choices(REVIEW_INTERVAL_DAYS)
    )
    checks = CarePlanCheckSerializer(many=True, required=False)
    patient_instructions = serializers.CharField(required=False, allow_blank=True)


class CarePlanInput(CarePlanContentSerializer):
    """A new version. Sections left out are carried over from the current version (or, for a
    first plan, from the consensus default); a section that is sent replaces the old one."""

    reason = serializers.CharField(help_text="Why the plan changes (required).")
    responds_to_report = serializers.IntegerField(
        required=False, allow_null=True, help_text="Id of the report that prompted the change."
    )
    prompt = serializers.CharField(
        required=False,
        max_length=120,
        help_text="What else prompted the change, as `app_label.model:id` "
        "(e.g. `reports.suggestion:12`, `consultations.consultation:3`).",
    )


class CarePlanOutput(serializers.Serializer):
    version = serializers.IntegerField(source="number")
    created_at = serializers.DateTimeField()
    created_by = serializers.IntegerField(source="created_by_id")
    author = serializers.CharField(source="created_by")
    reason = serializers.CharField()
    responds_to_report = serializers.IntegerField(source="responds_to_report_id", allow_null=True)
    prompted_by = serializers.CharField(
        source="prompt_token",
        allow_null=True,
        help_text="What prompted this version, as `app_label.model:id`, or null.",
    )
    targets = CarePlanTargetsSerializer(source="content.targets")
    hba1c_goal_percent = serializers.FloatField(
        source="content.hba1c_goal_percent", allow_null=True
    )
    medications = CarePlanMedicationSerializer(source="content.medications", many=True)
    diet = CarePlanDietSerializer(source="content.diet")
    exercise = CarePlanExerciseSerializer(source="content.exercise")
    monitoring = CarePlanMonitoringSerializer(source="content.monitoring")
    report_cadence_days = serializers.IntegerField()
    visit_cadence_days = serializers.IntegerField()
    review_interval_days = serializers.IntegerField()
    checks = CarePlanCheckSerializer(source="content.checks", many=True)
    patient_instructions = serializers.CharField(source="content.patient_instructions")


class CarePlanVersionSummaryOutput(serializers.Serializer):
    version = serializers.IntegerField(source="number")
    created_at = serializers.DateTimeField()
    created_by = serializers.IntegerField(source="created_by_id")
    author = serializers.CharField(source="created_by")
    reason = serializers.CharField()
    responds_to_report = serializers.IntegerField(source="responds_to_report_id", allow_null=True)
    prompted_by = serializers.CharField(
        source="prompt_token",
        allow_null=True,
        help_text="What prompted this version, as `app_label.model:id`, or null.",
    )


def flatten_errors(errors, prefix: str = "") -> dict[str, list[str]]:
    """DRF's nested error structure -> ``{"medications.0.dose": ["..."]}`` like the service's."""
    flat: dict[str, list[str]] = {}
    if isinstance(errors, dict):
        for key, value in errors.items():
            path = key if not prefix else f"{prefix}.{key}"
            if key == "non_field_errors":
                path = prefix or "non_field_errors"
            for k, v in flatten_errors(value, path).items():
                flat.setdefault(k, []).extend(v)
    elif isinstance(errors, list) and errors and all(isinstance(e, str) for e in errors):
        flat[prefix] = [str(e) for e in errors]
    elif isinstance(errors, list):
        for i, item in enumerate(errors):
            if item:
                flat.update(flatten_errors(item, f"{prefix}.{i}" if prefix else str(i)))
    else:
        flat[prefix] = [str(errors)]
    return flat
