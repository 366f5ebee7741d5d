"""Input and output shapes of the readings API. Outputs are explicit allow-lists."""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime

from django.conf import settings
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from glycemia.units import MG_DL, MMOL_L, from_mg_dl
from patients.models import validate_timezone
from readings.models import DeviceToken, Reading, Upload
from readings.parsers import FORMATS, RowError
from readings.parsers._pipeline import Context, glucose
from readings.parsers._times import epoch_ms_to_utc

MAX_BATCH = 10_000  # readings per POST; a day of 1-minute CGM is 1,440
UNITS = (MG_DL, MMOL_L)
MEAL_TAGS = [tag for tag, _ in Reading.MealTag.choices if tag]


@extend_schema_field(OpenApiTypes.NUMBER)
class StrictNumberField(serializers.Field):
    """A real, finite JSON number: ``true`` and ``"120"`` are refused (DRF's FloatField takes
    both), and so are NaN, ``Infinity``, ``1e400`` (read as infinity) and integers no float
    holds (``10**400`` written out), with a reason rather than an OverflowError."""

    default_error_messages = {
        "invalid": "must be a JSON number (not text or true/false)",
        "not_finite": "must be a finite number (not NaN, Infinity or beyond 1e308)",
    }

    def to_internal_value(self, data):
        if isinstance(data, bool) or not isinstance(data, int | float):
            self.fail("invalid")
        try:
            number = float(data)
        except OverflowError:  # an integer too large for a float
            self.fail("not_finite")
        if not math.isfinite(number):
            self.fail("not_finite")
        return number

    def to_representation(self, value):
        return value


@extend_schema_field(
    {
        "oneOf": [
            {"type": "string", "format": "date-time", "description": "ISO 8601 with offset"},
            {"type": "integer", "description": "epoch milliseconds"},
        ]
    }
)
class InstantField(serializers.Field):
    """ISO 8601 with an offset (or ``Z``), or epoch milliseconds; naive times are refused."""

    default_error_messages = {
        "invalid": "must be ISO 8601 with an offset (e.g. 2024-05-01T08:00:00+02:00) or epoch ms",
        "naive": "has no UTC offset; add one (e.g. +02:00 or Z) or send epoch ms",
        "out_of_range": "is not a possible time (before 1970 or in the future)",
    }

    def to_internal_value(self, data) -> datetime:
        if isinstance(data, int) and not isinstance(data, bool):
            try:
                return epoch_ms_to_utc(data)
            except OverflowError:
                self.fail("out_of_range")
        if not isinstance(data, str):
            self.fail("invalid")
        text = data.strip()
        if text.endswith(("Z", "z")):
            text = text[:-1] + "+00:00"
        try:
            parsed = datetime.fromisoformat(text)
        except ValueError:
            self.fail("invalid")
        if parsed.tzinfo is None:
            self.fail("naive")
        try:
            return parsed.astimezone(UTC)
        except OverflowError:
            self.fail("out_of_range")

    def to_representation(self, value):
        return value.isoformat()


class ReadingRowInput(serializers.Serializer):
    timestamp = InstantField()
    value = StrictNumberField()
    unit = serializers.ChoiceField(choices=UNITS)
    kind = serializers.ChoiceField(choices=["cgm", "smbg"])
    device = serializers.CharField(max_length=200, allow_blank=True, default="")
    meal_tag = serializers.ChoiceField(choices=MEAL_TAGS, required=False, allow_blank=True)


class _AnyRow(serializers.Field):
    """A batch row as sent (even with NaN in it): ``batch_items`` checks it and says why."""

    def to_internal_value(self, data):
        return data

    def to_representation(self, value):
        return value


class ReadingBatchInput(serializers.Serializer):
    # Rows are checked one by one (``batch_items``) so one bad row rejects only itself.
    readings = serializers.ListField(child=_AnyRow(), allow_empty=False, max_length=MAX_BATCH)


class ReadingBatchSchema(serializers.Serializer):
    """What the OpenAPI schema shows for the batch (validation is ``ReadingBatchInput``)."""

    readings = ReadingRowInput(many=True)


def batch_items(rows: Iterable) -> Iterator:
    """API rows -> parser records (``Reading`` | ``RowError``), line = 1-based array index.

    Values go through the parsers' ``glucose`` helper: the same limits and the same mmol/L
    rounding as a device file.
    """
    ctx = Context(timezone="UTC", now=datetime.now(UTC))
    for line, row in enumerate(rows, start=1):
        if not isinstance(row, dict):
            yield RowError(line, "reading is not a JSON object")
            continue
        serializer = ReadingRowInput(data=row)
        if not serializer.is_valid():
            yield RowError(line, _first_errors(serializer.errors))
            continue
        data = serializer.validated_data
        yield glucose(
            ctx,
            line,
            data["timestamp"],
            data["value"],
            data["unit"],
            data["kind"],
            data["device"],
            meal_tag=data.get("meal_tag", ""),
            status_codes=data["kind"] == "cgm",  # 0-12 mg/dL: named as on every CGM path
        )


def _first_errors(errors: dict) -> str:
    return "; ".join(f"{name} {messages[0]}" for name, messages in errors.items())


class IngestResultOutput(serializers.Serializer):
    accepted = serializers.IntegerField()
    duplicates = serializers.IntegerField()
    rejected = serializers.ListField(child=serializers.DictField())


class ReadingOutput(serializers.ModelSerializer):
    device = serializers.CharField(source="device.identity")
    value = serializers.SerializerMethodField()
    unit = serializers.SerializerMethodField()

    class Meta:
        model = Reading
        fields = [
            "id",
            "timestamp",
            "kind",
            "value_mg_dl",
            "value",
            "unit",
            "flag",
            "meal_tag",
            "device",
        ]

    def get_value(self, reading) -> float:
        return from_mg_dl(reading.value_mg_dl, self.context.get("unit", MG_DL))

    def get_unit(self, reading) -> str:
        return self.context.get("unit", MG_DL)


class ReadingQueryInput(serializers.Serializer):
    start = serializers.CharField(required=False)
    end = serializers.CharField(required=False)
    kind = serializers.ChoiceField(choices=Reading.Kind.values, required=False)
    unit = serializers.ChoiceField(choices=UNITS, default=MG_DL)
    page = serializers.IntegerField(required=False, min_value=1)


class UploadInput(serializers.Serializer):
    file = serializers.FileField(help_text="At most UPLOAD_MAX_BYTES (50 MB by default).")
    format = serializers.ChoiceField(choices=("auto", *FORMATS), default="auto")
    timezone = serializers.CharField(required=False, validators=[validate_timezone])

    def validate_file(self, file):
        from readings.forms import upload_too_large_message

        if file.size > settings.UPLOAD_MAX_BYTES:
            raise serializers.ValidationError(upload_too_large_message())
        return file


class RowErrorOutput(serializers.Serializer):
    line = serializers.IntegerField()
    reason = serializers.CharField()


class UploadOutput(serializers.ModelSerializer):
    rejected = RowErrorOutput(many=True)
    rejected_count = serializers.SerializerMethodField()
    progress_percent = serializers.IntegerField()
    status_url = serializers.SerializerMethodField()

    class Meta:
        model = Upload
        fields = [
            "id",
            "file",
            "format",
            "source",
            "status",
            "size_bytes",
            "progress_percent",
            "accepted",
            "duplicates",
            "rejected_count",
            "rejected",
            "treatments_count",
            "warnings",
            "error",
            "created_at",
            "finished_at",
            "status_url",
        ]

    file = serializers.CharField(source="filename")

    def get_rejected_count(self, upload) -> int:
        return upload.rejected_count

    def get_status_url(self, upload) -> str:
        from django.urls import reverse

        url = reverse("api-uploads-detail", args=[upload.pk])
        request = self.context.get("request")
        return request.build_absolute_uri(url) if request else url


class UploadListOutput(UploadOutput):
    class Meta(UploadOutput.Meta):
        fields = [name for name in UploadOutput.Meta.fields if name != "rejected"]


class DeviceTokenInput(serializers.Serializer):
    name = serializers.CharField(max_length=100)
    scope = serializers.ChoiceField(
        choices=DeviceToken.Scope.choices,
        default=DeviceToken.Scope.UPLOAD,
        help_text='"upload" (default): add readings, read nothing back. "read": follower apps '
        "read the glucose history through /ns/; only the patient may grant it, with "
        "grant_read=true.",
    )
    grant_read = serializers.BooleanField(
        default=False, help_text="The patient's explicit consent to a read token."
    )

    def validate(self, data):
        if data["scope"] == DeviceToken.Scope.READ and not data["grant_read"]:
            raise serializers.ValidationError(
                {"grant_read": "A read token needs the patient's explicit grant_read=true."}
            )
        return data


class DeviceTokenOutput(serializers.ModelSerializer):
    class Meta:
        model = DeviceToken
        fields = ["id", "name", "scope", "created_at", "last_used_at", "revoked_at"]


class DeviceTokenIssuedOutput(DeviceTokenOutput):
    key = serializers.CharField(help_text="Shown once; only its hash is kept.")

    class Meta(DeviceTokenOutput.Meta):
        fields = [*DeviceTokenOutput.Meta.fields, "key"]
