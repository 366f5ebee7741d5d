from django.contrib import admin

from accounts.admin import ClinicalAdmin
from reports.models import Report, ReportNotification, Suggestion


@admin.register(Report)
class ReportAdmin(ClinicalAdmin):
    """Read-only: a report is an immutable snapshot (only the clinician's note changes, on the
    report page); erasing a patient removes their reports."""

    list_display = ("patient", "period_start", "period_end", "kind", "created_at")
    list_filter = ("kind",)
    search_fields = ("patient__name", "patient__mrn")
    raw_id_fields = ("patient", "previous", "note_by")
    date_hierarchy = "period_end"


@admin.register(ReportNotification)
class ReportNotificationAdmin(admin.ModelAdmin):
    list_display = ("report", "user", "created_at", "read_at")
    raw_id_fields = ("report", "user")


@admin.register(Suggestion)
class SuggestionAdmin(ClinicalAdmin):
    """Read-only: stored with its report; decided on the report page or by a plan version."""

    list_display = ("report", "rule", "kind", "state", "decided_at")
    list_filter = ("rule", "kind", "state")
    search_fields = ("patient__name", "patient__mrn")
    raw_id_fields = ("report", "patient", "decided_by")
