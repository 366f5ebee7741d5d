from django.contrib import admin

from accounts.admin import ClinicalAdmin
from consultations.models import Consultation, MedicationRequest, ReplyTemplate, ServiceLevel


@admin.register(Consultation)
class ConsultationAdmin(ClinicalAdmin):
    """Read-only: threads are written by the patient and the care team on their pages."""

    list_display = ("pk", "patient", "category", "state", "outcome", "created_at", "due_at")
    list_filter = ("category", "state", "outcome")
    raw_id_fields = ("patient", "assigned_to", "first_answer_by", "closed_by")


@admin.register(MedicationRequest)
class MedicationRequestAdmin(ClinicalAdmin):
    list_display = ("pk", "patient", "state", "quantity", "created_at", "decided_at")
    list_filter = ("state",)
    raw_id_fields = ("patient", "plan_version", "requested_by", "decided_by")


@admin.register(ServiceLevel)
class ServiceLevelAdmin(admin.ModelAdmin):
    """How fast each center answers each category, in business hours (its opening hours)."""

    list_display = ("center", "category", "business_hours")
    list_filter = ("center",)


@admin.register(ReplyTemplate)
class ReplyTemplateAdmin(admin.ModelAdmin):
    """The center's saved replies (clinicians keep their own on the inbox page)."""

    list_display = ("title", "center", "owner")
    raw_id_fields = ("owner",)
