"""Admin: read-only. Versions are signed clinical records; change them by revising the plan."""

from django.contrib import admin

from accounts.admin import ClinicalAdmin
from care_plans.models import CarePlan, CarePlanVersion


class CarePlanVersionInline(admin.TabularInline):
    model = CarePlanVersion
    fields = ["number", "created_at", "created_by", "reason", "prompted_by_type", "prompted_by_id"]
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(CarePlan)
class CarePlanAdmin(ClinicalAdmin):
    list_display = ["patient", "created_at"]
    search_fields = ["patient__mrn", "patient__name"]
    raw_id_fields = ["patient"]
    inlines = [CarePlanVersionInline]


@admin.register(CarePlanVersion)
class CarePlanVersionAdmin(ClinicalAdmin):
    list_display = ["plan", "number", "created_at", "created_by", "report_cadence_days"]
    search_fields = ["plan__patient__mrn", "plan__patient__name"]
    readonly_fields = [
        "plan",
        "number",
        "created_by",
        "created_at",
        "reason",
        "prompted_by_type",
        "prompted_by_id",
        "content",
        "report_cadence_days",
        "visit_cadence_days",
        "review_interval_days",
    ]

    def patient_of(self, obj):
        return obj.plan.patient
