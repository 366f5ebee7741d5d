from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.utils.translation import gettext_lazy as _

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
    list_display = ["at", "user", "patient", "action", "what"]
    list_filter = ["action"]
    search_fields = ["what", "patient__mrn", "user__username"]
    date_hierarchy = "at"

    def has_change_permission(self, request, obj=None):
        return False  # the audit trail is append-only

    def has_delete_permission(self, request, obj=None):
        return False
