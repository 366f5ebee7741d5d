from django.contrib import admin

from patients.models import Patient


@admin.register(Patient)
class PatientAdmin(admin.ModelAdmin):
    list_display = ["name", "mrn", "diabetes_type", "care_center", "timezone", "unit"]
    list_filter = ["diabetes_type", "care_center", "unit"]
    search_fields = ["name", "mrn"]
    filter_horizontal = ["endocrinologists"]
    raw_id_fields = ["user"]
