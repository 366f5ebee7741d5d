"""API input and output: inputs only clean; outputs are explicit allow-lists."""

from django.urls import reverse
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from consultations.models import Category, Consultation, MedicationRequest, Message, Outcome
from consultations.photos import MAX_EDGE, PHOTO_MAX_BYTES, PHOTOS_PER_MESSAGE

PHOTO_RULES = (
    f"At most {PHOTOS_PER_MESSAGE} photos, each at most {PHOTO_MAX_BYTES // (1024 * 1024)} MB; "
    "JPEG, PNG or HEIC, the type found by decoding (never from a name or a declared type). "
    "Stored without EXIF (location included), turned upright from the camera's orientation, "
    f"at most {MAX_EDGE} px on the longest side; HEIC becomes JPEG."
)


@extend_schema_field({"type": "string", "format": "binary"})
class PhotoFileField(serializers.FileField):
    """A file part (the schema says binary: drf-spectacular's default for a FileField shared
    by requests and answers is a URI)."""


def _photo_files() -> serializers.ListField:
    return serializers.ListField(
        child=PhotoFileField(),
        required=False,
        max_length=PHOTOS_PER_MESSAGE,
        help_text=f"Photo files, one `photos` part each. {PHOTO_RULES}",
    )


def _photo_strings() -> serializers.ListField:
    return serializers.ListField(
        child=serializers.CharField(
            help_text="Base64 of the image file (standard or URL-safe alphabet, padding and "
            "line breaks optional), or a data: URL: `data:image/jpeg;base64,/9j/4AAQ...`."
        ),
        required=False,
        allow_null=True,
        max_length=PHOTOS_PER_MESSAGE,
        help_text=f"Photos as base64 strings or data: URLs. {PHOTO_RULES} The whole JSON body is "
        "at most DATA_UPLOAD_MAX_MEMORY_SIZE (50 MB by default; 413 above it): base64 adds a "
        "third, so several large photos go in separate messages or as multipart/form-data. "
        "Bad base64: 400; a photo over the limit once decoded: 413; more than "
        f"{PHOTOS_PER_MESSAGE}: 400; not an image: 400.",
    )


class ConsultationCreateInput(serializers.Serializer):
    category = serializers.ChoiceField(choices=Category.choices)
    text = serializers.CharField(max_length=5000)
    photos = _photo_files()


class ConsultationCreateJson(serializers.Serializer):
    """The JSON shape of a new consultation (photos as base64; the schema only)."""

    category = serializers.ChoiceField(choices=Category.choices)
    text = serializers.CharField(max_length=5000)
    photos = _photo_strings()


class MessageInput(serializers.Serializer):
    text = serializers.CharField(max_length=5000)
    photos = _photo_files()


class MessageJson(serializers.Serializer):
    """The JSON shape of a message (photos as base64; the schema only)."""

    text = serializers.CharField(max_length=5000)
    photos = _photo_strings()


class CloseInput(serializers.Serializer):
    outcome = serializers.ChoiceField(choices=Outcome.choices)


class MedicationRequestInput(serializers.Serializer):
    medication = serializers.CharField(
        max_length=200, help_text="the product name in the current plan, or its index"
    )
    quantity = serializers.IntegerField(min_value=1, max_value=12)
    note = serializers.CharField(max_length=1000, required=False, allow_blank=True, default="")


class DecideInput(serializers.Serializer):
    approved = serializers.BooleanField()
    note = serializers.CharField(max_length=1000, required=False, allow_blank=True, default="")


class ConsultationOutput(serializers.ModelSerializer):
    overdue = serializers.SerializerMethodField()
    assigned_to = serializers.SerializerMethodField()

    class Meta:
        model = Consultation
        fields = [
            "id",
            "patient",
            "category",
            "state",
            "outcome",
            "created_at",
            "due_at",
            "overdue",
            "first_answer_at",
            "closed_at",
            "assigned_to",
        ]

    def get_overdue(self, obj) -> bool:
        return obj.overdue()

    def get_assigned_to(self, obj) -> int | None:
        return obj.assigned_to_id


class MessageOutput(serializers.ModelSerializer):
    author = serializers.CharField(source="author_name")
    photos = serializers.SerializerMethodField()

    class Meta:
        model = Message
        fields = ["author", "from_patient", "text", "at", "photos"]

    def get_photos(self, obj) -> list[str]:
        request = self.context.get("request")
        urls = [reverse("consultations-photo", args=[p.pk]) for p in obj.photos.all()]
        return [request.build_absolute_uri(u) for u in urls] if request else urls


class ThreadOutput(ConsultationOutput):
    messages = serializers.SerializerMethodField()
    snapshot = serializers.JSONField()

    class Meta(ConsultationOutput.Meta):
        fields = [*ConsultationOutput.Meta.fields, "messages", "snapshot"]

    def get_messages(self, obj) -> list[dict]:
        rows = obj.messages.prefetch_related("photos")
        return MessageOutput(rows, many=True, context=self.context).data


class MedicationRequestOutput(serializers.ModelSerializer):
    decided_by = serializers.SerializerMethodField()
    slip = serializers.SerializerMethodField()

    class Meta:
        model = MedicationRequest
        fields = [
            "id",
            "patient",
            "medication",
            "quantity",
            "note",
            "state",
            "created_at",
            "decided_by",
            "decided_at",
            "decision_note",
            "slip",
        ]

    def get_decided_by(self, obj) -> str | None:
        return str(obj.decided_by) if obj.decided_by else None

    def get_slip(self, obj) -> str | None:
        if obj.state != MedicationRequest.State.APPROVED:
            return None
        return reverse("medication-requests-slip", args=[obj.pk])
