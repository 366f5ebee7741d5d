from django.contrib import admin

from patients.models import Consent, Patient


@admin.register(Patient)
class PatientAdmin(admin.ModelAdmin):
    list_display = ["name", "mrn", "diabetes_type", "care_center", "timezone", "unit"]
    list_filter = ["diabetes_type", "care_center", "unit"]
    search_fields = ["name", "mrn"]
    filter_horizontal = ["endocrinologists"]
    raw_id_fields = ["user"]

    def has_delete_permission(self, request, obj=None):
        return False  # erase instead: it removes files and leaves an audited tombstone


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
