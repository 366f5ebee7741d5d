from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from patients.models import Consent, MonthlySummary, Patient, TriageEntry, TriageReview
from patients.services import patient_erase


@admin.register(Patient)
class PatientAdmin(admin.ModelAdmin):
    list_display = ["name", "mrn", "diabetes_type", "care_center", "timezone", "unit"]
    list_filter = ["diabetes_type", "care_center", "unit"]
    search_fields = ["name", "mrn"]
    filter_horizontal = ["endocrinologists"]
    raw_id_fields = ["user"]
    actions = ["erase_on_request"]

    def has_delete_permission(self, request, obj=None):
        return False  # erase instead: it removes files and leaves an audited tombstone

    @admin.action(description=_("Erase on request (readings, files, reports, tokens)"))
    def erase_on_request(self, request, queryset):
        for patient in queryset:
            patient_erase(patient=patient, by=request.user)
        self.message_user(request, _("Erased. The audit trail keeps a tombstone."))


@admin.register(TriageEntry)
class TriageEntryAdmin(admin.ModelAdmin):
    """Read-only: entries are recomputed by ``patients.triage``, never edited by hand."""

    list_display = ["patient", "tier", "gri", "in_range_percent", "computed_for", "reviewed"]
    list_filter = ["tier", "mode", "reviewed"]
    search_fields = ["patient__name", "patient__mrn"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(TriageReview)
class TriageReviewAdmin(admin.ModelAdmin):
    list_display = ["patient", "by", "at"]
    raw_id_fields = ["patient", "by"]
    search_fields = ["patient__name", "patient__mrn"]


@admin.register(MonthlySummary)
class MonthlySummaryAdmin(admin.ModelAdmin):
    """Read-only: rewritten from the rollups with the triage entry (``patients.triage``)."""

    list_display = ["patient", "month", "readings", "in_range_percent", "cv_percent"]
    search_fields = ["patient__name", "patient__mrn"]
    raw_id_fields = ["patient"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Consent)
class ConsentAdmin(admin.ModelAdmin):
    """Read-only: a consent decision is the patient's own (``patients.consent``)."""

    list_display = ["patient", "topic", "version", "given", "at", "by_name"]
    list_filter = ["topic", "given"]
    search_fields = ["patient__name", "patient__mrn"]
    raw_id_fields = ["patient", "by"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
