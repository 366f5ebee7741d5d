from django.contrib import admin

from accounts.admin import ClinicalAdmin
from readings.models import (
    DailyRollup,
    Device,
    DeviceToken,
    NightscoutDeviceStatus,
    NightscoutLink,
    Reading,
    Treatment,
    Upload,
)


@admin.register(Device)
class DeviceAdmin(admin.ModelAdmin):
    list_display = ["identity", "patient", "kind", "manufacturer", "model"]
    list_filter = ["kind"]
    search_fields = ["identity", "patient__mrn"]
    raw_id_fields = ["patient"]


@admin.register(Reading)
class ReadingAdmin(ClinicalAdmin):
    list_display = ["timestamp", "patient", "value_mg_dl", "kind", "flag", "meal_tag", "device"]
    list_filter = ["kind", "flag", "meal_tag"]
    search_fields = ["patient__mrn"]
    raw_id_fields = ["patient", "device", "upload"]
    show_full_result_count = False  # readings run to millions; counting them all is slow


@admin.register(Treatment)
class TreatmentAdmin(ClinicalAdmin):
    list_display = ["timestamp", "patient", "kind", "amount", "text"]
    list_filter = ["kind"]
    raw_id_fields = ["patient", "device", "upload"]


@admin.register(Upload)
class UploadAdmin(ClinicalAdmin):
    list_display = [
        "created_at",
        "patient",
        "filename",
        "format",
        "status",
        "accepted",
        "duplicates",
    ]
    list_filter = ["status", "format", "source"]
    raw_id_fields = ["patient", "uploaded_by"]


@admin.register(DailyRollup)
class DailyRollupAdmin(ClinicalAdmin):
    list_display = ["date", "patient", "kind", "count", "min", "max"]
    list_filter = ["kind"]
    raw_id_fields = ["patient"]


@admin.register(DeviceToken)
class DeviceTokenAdmin(admin.ModelAdmin):
    list_display = ["name", "patient", "scope", "created_at", "last_used_at", "revoked_at"]
    raw_id_fields = ["patient"]
    # Only the patient grants a scope (readings.views.device_token_new); admins may revoke.
    readonly_fields = ["key_hash", "scope", "last_used_at"]


@admin.register(NightscoutLink)
class NightscoutLinkAdmin(admin.ModelAdmin):
    list_display = ["patient", "key", "created_at", "rotated_at"]
    raw_id_fields = ["patient"]
    exclude = ["secret_hash"]  # only the patient sees their secret, once, when it is issued
    readonly_fields = ["key", "rotated_at"]


@admin.register(NightscoutDeviceStatus)
class NightscoutDeviceStatusAdmin(ClinicalAdmin):
    list_display = ["created_at", "patient", "device"]
    raw_id_fields = ["patient"]
