from django.contrib import admin

from outbox.models import Heartbeat, Incident, OutboxTask


class ReadOnlyAdmin(admin.ModelAdmin):
    """Records the machinery writes; admins look, nobody edits."""

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in self.model._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(OutboxTask)
class OutboxTaskAdmin(ReadOnlyAdmin):
    list_display = ("pk", "task", "args", "created_at", "sent_at", "sends", "done_at")
    list_filter = ("task",)


@admin.register(Heartbeat)
class HeartbeatAdmin(ReadOnlyAdmin):
    list_display = ("name", "at")


@admin.register(Incident)
class IncidentAdmin(ReadOnlyAdmin):
    """Degraded-alerting incidents (README "Operations"), newest first."""

    list_display = ("opened_at", "closed_at", "reasons", "notified_at")
    list_filter = ("is_open",)
    ordering = ("-opened_at",)
