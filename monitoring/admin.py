"""Admin: the on-call rota and each center's lead (the center's staff set them on the rota page,
/monitoring/rota/, too) and clinicians' alert phones are set here by admins; enrolments, alerts
and mutes are shown read-only (they change through the app, audited)."""

from django.contrib import admin

from monitoring.models import Alert, AlertContact, CenterLead, Enrolment, Mute, OnCallShift


@admin.register(OnCallShift)
class OnCallShiftAdmin(admin.ModelAdmin):
    list_display = ("center", "clinician", "start", "end")
    list_filter = ("center",)
    date_hierarchy = "start"


@admin.register(CenterLead)
class CenterLeadAdmin(admin.ModelAdmin):
    list_display = ("center", "lead")


@admin.register(AlertContact)
class AlertContactAdmin(admin.ModelAdmin):
    list_display = ("user", "phone")


class ReadOnly(admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Enrolment)
class EnrolmentAdmin(ReadOnly):
    list_display = ("patient", "active", "enrolled_at", "ended_at", "ended_reason")


@admin.register(Alert)
class AlertAdmin(ReadOnly):
    list_display = ("patient", "kind", "state", "live", "opened_at", "closed_at", "outcome")
    list_filter = ("kind", "state", "live")


@admin.register(Mute)
class MuteAdmin(ReadOnly):
    list_display = ("patient", "kinds", "until", "reason", "by")
