"""API input and output: inputs only clean; outputs are explicit allow-lists."""

from django.urls import reverse
from rest_framework import serializers

from consultations.models import Category, Consultation, MedicationRequest, Message, Outcome


class ConsultationCreateInput(serializers.Serializer):
    category = serializers.ChoiceField(choices=Category.choices)
    text = serializers.CharField(max_length=5000)
    photos = serializers.ListField(
        child=serializers.FileField(), required=False, max_length=5, help_text="multipart only"
    )


class MessageInput(serializers.Serializer):
    text = serializers.CharField(max_length=5000)
    photos = serializers.ListField(
        child=serializers.FileField(), required=False, max_length=5, help_text="multipart only"
    )


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
