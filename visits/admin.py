"""Admin: the clinic's setup (hours, closed days, rooms, availability, exceptions, visit types)
is edited here; visits are read here and changed through the visits pages (history kept)."""

from django.contrib import admin

from visits.models import (
    Availability,
    AvailabilityException,
    BookingRequest,
    CalendarFeed,
    ClosedDay,
    DayListSent,
    OpeningHours,
    Room,
    Visit,
    VisitChange,
    VisitCompletion,
    VisitMessage,
    VisitRequest,
    VisitType,
)


@admin.register(OpeningHours)
class OpeningHoursAdmin(admin.ModelAdmin):
    list_display = ["center", "weekday", "opens", "closes"]
    list_filter = ["center", "weekday"]


@admin.register(ClosedDay)
class ClosedDayAdmin(admin.ModelAdmin):
    list_display = ["center", "date", "reason"]
    list_filter = ["center"]
    date_hierarchy = "date"


@admin.register(Room)
class RoomAdmin(admin.ModelAdmin):
    list_display = ["name", "center"]
    list_filter = ["center"]


@admin.register(Availability)
class AvailabilityAdmin(admin.ModelAdmin):
    list_display = ["clinician", "center", "weekday", "starts", "ends", "room"]
    list_filter = ["center", "weekday", "clinician"]


@admin.register(AvailabilityException)
class AvailabilityExceptionAdmin(admin.ModelAdmin):
    list_display = ["clinician", "date", "kind", "starts", "ends", "note"]
    list_filter = ["kind", "center"]
    date_hierarchy = "date"


@admin.register(VisitType)
class VisitTypeAdmin(admin.ModelAdmin):
    list_display = ["name", "code", "duration_minutes", "roles", "mode", "is_follow_up", "active"]
    list_filter = ["mode", "active"]


class VisitChangeInline(admin.TabularInline):
    model = VisitChange
    fields = ["at", "by", "action", "old_start", "new_start", "note"]
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Visit)
class VisitAdmin(admin.ModelAdmin):
    list_display = ["start_at", "patient", "clinician", "visit_type", "status"]
    list_filter = ["status", "center", "visit_type"]
    date_hierarchy = "start_at"
    search_fields = ["patient__mrn", "patient__name"]
    raw_id_fields = ["patient", "clinician", "booked_by"]
    readonly_fields = ["start_at", "end_at", "status"]
    inlines = [VisitChangeInline]


@admin.register(VisitChange)
class VisitChangeAdmin(admin.ModelAdmin):
    list_display = ["visit", "at", "by", "action"]
    readonly_fields = ["visit", "at", "by", "action", "old_start", "new_start", "note"]


@admin.register(VisitCompletion)
class VisitCompletionAdmin(admin.ModelAdmin):
    list_display = ["visit", "completed_at", "completed_by"]
    raw_id_fields = ["visit", "completed_by"]


@admin.register(VisitMessage)
class VisitMessageAdmin(admin.ModelAdmin):
    list_display = ["visit", "kind", "visit_start", "status", "sent_at", "channels"]
    list_filter = ["kind", "status"]
    readonly_fields = ["visit", "kind", "visit_start", "status", "claimed_at", "sent_at"]


@admin.register(DayListSent)
class DayListSentAdmin(admin.ModelAdmin):
    list_display = ["clinician", "date", "sent_at"]


@admin.register(CalendarFeed)
class CalendarFeedAdmin(admin.ModelAdmin):
    list_display = ["user", "created_at"]
    exclude = ["token_hash"]


# Front desk (issue #19 §1): the outreach log is read here; staff write it from the worklist.
from visits.models_frontdesk import ContactPreference, OutreachAttempt  # noqa: E402


@admin.register(OutreachAttempt)
class OutreachAttemptAdmin(admin.ModelAdmin):
    list_display = ["patient", "at", "channel", "outcome", "retry_on", "by"]
    list_filter = ["channel", "outcome"]
    raw_id_fields = ["patient", "by"]
    readonly_fields = ["at", "subject", "text", "link", "sent_at", "sent_channels", "read_at"]


@admin.register(ContactPreference)
class ContactPreferenceAdmin(admin.ModelAdmin):
    list_display = ["patient", "channel", "updated_at", "updated_by"]
    raw_id_fields = ["patient", "updated_by"]


from visits.models_frontdesk import WaitlistEntry, WaitlistOffer  # noqa: E402


@admin.register(WaitlistEntry)
class WaitlistEntryAdmin(admin.ModelAdmin):
    list_display = ["patient", "visit_type", "clinician", "active", "created_at"]
    list_filter = ["active", "visit_type"]
    raw_id_fields = ["patient", "clinician", "by"]


@admin.register(WaitlistOffer)
class WaitlistOfferAdmin(admin.ModelAdmin):
    list_display = ["entry", "clinician", "start_at", "status", "visit"]
    list_filter = ["status"]
    raw_id_fields = ["entry", "clinician", "visit"]


@admin.register(VisitRequest)
class VisitRequestAdmin(admin.ModelAdmin):
    list_display = ["patient", "visit_type", "created_at", "handled_at"]
    raw_id_fields = ["patient", "handled_by"]


@admin.register(BookingRequest)
class BookingRequestAdmin(admin.ModelAdmin):
    """Requests to book a visit (from a consultation); open until a visit is booked after
    them (the worklist page lists them)."""

    list_display = ("patient", "reason", "requested_by", "created_at")
    raw_id_fields = ("patient", "requested_by")
