from django.contrib import admin

from outbox.models import OutboxTask


@admin.register(OutboxTask)
class OutboxTaskAdmin(admin.ModelAdmin):
    list_display = ("pk", "task", "args", "created_at", "sent_at", "sends", "done_at")
    list_filter = ("task",)
    readonly_fields = [f.name for f in OutboxTask._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
