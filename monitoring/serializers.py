"""Monitoring API serializers: inputs clean, outputs are explicit allow-lists. Glucose in
numeric fields is mg/dL at full precision (DESIGN §3: rounding is for display)."""

from rest_framework import serializers

from monitoring import rules
from monitoring.models import Alert


def thresholds_checked(value) -> dict:
    """The API's ``thresholds``: known keys, numbers (or null: the plan's default) within
    ``rules.THRESHOLD_BOUNDS``; a ValidationError naming the key otherwise."""
    if not isinstance(value, dict):
        raise serializers.ValidationError("thresholds must be an object.")
    clean = {}
    for key, number in value.items():
        if key not in rules.THRESHOLD_BOUNDS:
            raise serializers.ValidationError(f"{str(key)[:40]}: unknown threshold")
        if number is None:
            clean[key] = None
            continue
        if isinstance(number, bool) or not isinstance(number, int | float):
            raise serializers.ValidationError(f"{key}: must be a number")
        if isinstance(number, int) and abs(number) > 10**6:  # 10**400 is no float
            raise serializers.ValidationError(f"{key}: out of bounds")
        clean[key] = float(number)
    try:
        rules.thresholds_for_plan(None, clean)
    except ValueError as exc:
        raise serializers.ValidationError(str(exc)) from None
    return clean


class MonitoringInput(serializers.Serializer):
    enrolled = serializers.BooleanField()
    thresholds = serializers.JSONField(
        required=False,
        help_text="urgent_low_mg_dl, high_mg_dl, high_minutes, no_data_hours (null: default)",
    )

    def validate_thresholds(self, value):
        return thresholds_checked(value)


class MonitoringOutput(serializers.Serializer):
    enrolled = serializers.BooleanField()
    consented = serializers.BooleanField()
    enrolled_at = serializers.DateTimeField(allow_null=True)
    thresholds = serializers.DictField(child=serializers.FloatField())
    overrides = serializers.DictField(child=serializers.FloatField())


class AcknowledgeInput(serializers.Serializer):
    note = serializers.CharField(allow_blank=True, max_length=2000, required=False, default="")
    outcome = serializers.ChoiceField(choices=Alert.Outcome.choices)


class NotificationOutput(serializers.Serializer):
    recipient = serializers.CharField(source="recipient.username")
    step = serializers.IntegerField()
    reason = serializers.CharField()
    status = serializers.CharField()
    created_at = serializers.DateTimeField()
    sent_at = serializers.DateTimeField(allow_null=True)
    channels = serializers.CharField()


class AlertOutput(serializers.Serializer):
    id = serializers.IntegerField()
    patient = serializers.IntegerField(source="patient_id")
    kind = serializers.CharField()
    state = serializers.CharField()
    live = serializers.BooleanField()
    muted = serializers.BooleanField()
    since = serializers.DateTimeField(allow_null=True)
    opened_at = serializers.DateTimeField()
    last_at = serializers.DateTimeField(allow_null=True)
    last_value_mg_dl = serializers.FloatField(source="last_value", allow_null=True)
    extreme_mg_dl = serializers.FloatField(source="extreme", allow_null=True)
    ended_at = serializers.DateTimeField(allow_null=True)
    closed_at = serializers.DateTimeField(allow_null=True)
    close_reason = serializers.CharField()
    delivered_at = serializers.DateTimeField(allow_null=True)
    wait_until = serializers.DateTimeField(allow_null=True)
    escalation_step = serializers.IntegerField()
    snoozed_until = serializers.DateTimeField(allow_null=True)
    snooze_reason = serializers.CharField()
    acknowledged_at = serializers.DateTimeField(allow_null=True)
    acknowledged_by = serializers.CharField(
        source="acknowledged_by.username", allow_null=True, default=None
    )
    note = serializers.CharField()
    outcome = serializers.CharField()
    notifications = NotificationOutput(many=True)
