from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.utils.translation import gettext_lazy as _

from accounts.access import audit
from accounts.models import AuditEvent, CareCenter, User


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    list_display = ["username", "first_name", "last_name", "role", "care_center", "is_active"]
    list_filter = ["role", "care_center", "is_active"]
    fieldsets = BaseUserAdmin.fieldsets + (
        (_("Diabetes Center"), {"fields": ["role", "care_center", "unit", "language"]}),
    )
    add_fieldsets = BaseUserAdmin.add_fieldsets + (
        (_("Diabetes Center"), {"fields": ["role", "care_center"]}),
    )


@admin.register(CareCenter)
class CareCenterAdmin(admin.ModelAdmin):
    list_display = ["name", "phone", "timezone"]
    search_fields = ["name"]


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    """Search the trail: who (username, role), which patient (id), what, outcome, when."""

    list_display = ["at", "username", "role", "patient_id", "action", "what", "outcome", "ip"]
    list_filter = ["action", "outcome", "role"]
    search_fields = ["what", "username", "=patient__id", "patient__mrn", "=ip"]
    date_hierarchy = "at"

    def has_add_permission(self, request):
        return False  # the audit trail is written by the application only

    def has_change_permission(self, request, obj=None):
        return False  # append-only

    def has_delete_permission(self, request, obj=None):
        return False


class ClinicalAdmin(admin.ModelAdmin):
    """Admin pages over clinical data: read-only (readings and reports feed rollups and
    immutable snapshots, so edits belong to the ingest and report services, not to a form),
    and every look is audited like any other read by someone other than the patient."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def patient_of(self, obj):
        return getattr(obj, "patient", None)

    def changelist_view(self, request, extra_context=None):
        response = super().changelist_view(request, extra_context)
        if response.status_code == 200:
            audit(request.user, None, "view", f"admin list: {self.model._meta.verbose_name}")
        return response

    def change_view(self, request, object_id, form_url="", extra_context=None):
        response = super().change_view(request, object_id, form_url, extra_context)
        obj = self.get_object(request, object_id) if response.status_code == 200 else None
        if obj is not None:
            patient = self.patient_of(obj)
            what = f"admin: {self.model._meta.verbose_name} {obj.pk}"
            audit(request.user, patient, "view", what)
        return response
