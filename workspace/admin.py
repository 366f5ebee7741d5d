"""The workspace's admin: triage tables (read-only) and the patient's "Erase on request",
which composes every app (``workspace.erasure``) and so is added here, on the top floor."""

from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from patients.admin import PatientAdmin as RecordAdmin
from patients.models import Patient
from workspace.erasure import patient_erase
from workspace.models import MonthlySummary, TriageEntry, TriageReview

admin.site.unregister(Patient)


@admin.register(Patient)
class PatientAdmin(RecordAdmin):
    actions = ["erase_on_request"]

    @admin.action(description=_("Erase on request (readings, files, reports, tokens)"))
    def erase_on_request(self, request, queryset):
        for patient in queryset:
            patient_erase(patient=patient, by=request.user)
        self.message_user(request, _("Erased. The audit trail keeps a tombstone."))


@admin.register(TriageEntry)
class TriageEntryAdmin(admin.ModelAdmin):
    """Read-only: entries are recomputed by ``workspace.triage``, never edited by hand."""

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
    """Read-only: rewritten from the rollups with the triage entry (``workspace.triage``)."""

    list_display = ["patient", "month", "readings", "in_range_percent", "cv_percent"]
    search_fields = ["patient__name", "patient__mrn"]
    raw_id_fields = ["patient"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
