"""Visit processes, one module per process (callers import from ``visits.services``). Pure
rules live in ``visits.scheduling``; these modules load and write.

- ``slots``: free slots — each clinician's working windows per day, busy spans, the slots a
  visit type fits in (``visit_slots``, ``next_free_slots``); the shared basics ``VisitError``,
  ``SlotTaken``, ``Slot``, ``center_zone``, ``visits_visible_to``, ``clinicians_for``;
- ``lifecycle``: the visit's life — ``visit_book`` without double booking, reschedule, cancel,
  check-in, no-show, complete, the patient's reschedule request;
- ``worklist``: due dates, the next visit per patient, urgent reasons, the worklist rows;
- ``messages``: reminders, the SMS backend, a visit message sent once, the day lists;
- ``outreach``: recall outreach — the preferred channel, the attempts log, booking invites;
- ``results``: a completed visit's results as data (HbA1c in % or mmol/mol, blood pressure,
  weight, kidney, eye and foot findings) and the history of them;
- ``waitlist``: the waiting list — a cancelled time offered to those waiting, first to accept;
- ``selfbook``: patients book, move and cancel for themselves (their care team, the types
  patients may book, the change window), and their requests when no time suits;
- ``closures``: booked visits in closed time (closed days, leave) and moving or cancelling them.
  (Imported as modules: ``from visits.services import selfbook, closures``.)

Every function that changes visits is ``<noun>_<verb>(*, ...)`` and records a ``VisitChange``.
Messages are sent by tasks enqueued through the outbox by task name; these modules never import
``visits.tasks``.
"""

from __future__ import annotations

from visits.services.lifecycle import (
    BOOKING_HORIZON,
    DEADLOCK_RETRIES,
    CheckInTooEarly,
    check_in_opens,
    visit_book,
    visit_cancel,
    visit_check_in,
    visit_complete,
    visit_mark_no_show,
    visit_request_reschedule,
    visit_reschedule,
)
from visits.services.messages import (
    ConsoleSms,
    clinician_day_lists,
    reminder_lead,
    reminders_due,
    sms_backend,
    visit_message_send,
)
from visits.services.outreach import (
    NOT_CONTACTED,
    OUTREACH_STATES,
    booking_invite_deliver,
    booking_invite_send,
    booking_link,
    contact_preference_set,
    latest_outreach,
    open_invites,
    outreach_record,
    preferred_channel,
)
from visits.services.requests import (
    booking_request_dismiss,
    booking_request_for,
    booking_request_reason,
    booking_requests_open,
)
from visits.services.results import RESULT_COLUMNS, results_clean, results_history
from visits.services.slots import (
    ACTIVE,
    NEXT_FREE_COUNT,
    SLOT_STEP,
    Epoch,
    PackedSpans,
    Slot,
    SlotTaken,
    VisitError,
    center_zone,
    clinicians_for,
    next_free_slots,
    visit_slots,
    visits_visible_to,
    window_epochs_for,
    windows_for,
)
from visits.services.waitlist import (
    OfferTaken,
    open_offers,
    waitlist_accept,
    waitlist_add,
    waitlist_leave,
    waitlist_offer_deliver,
    waitlist_offer_freed,
)
from visits.services.worklist import (
    FOLLOW_UP_CODE,
    RETRY_DUE,
    URGENT_CODE,
    URGENT_REASONS,
    URGENT_WITHIN_DAYS,
    WORKLIST_HORIZON_DAYS,
    WORKLIST_SORTS,
    WorklistRow,
    due_dates,
    follow_up_due,
    last_checks_done,
    next_visit_by_patient,
    next_visit_start,
    suggested_visit_type,
    suggested_visit_type_for,
    urgent_reasons,
    worklist,
    worklist_view,
)

__all__ = [
    "booking_request_dismiss",
    "booking_request_for",
    "booking_request_reason",
    "booking_requests_open",
    "waitlist_accept",
    "waitlist_add",
    "waitlist_offer_freed",
    "waitlist_offer_deliver",
    "waitlist_leave",
    "open_offers",
    "OfferTaken",
    "CheckInTooEarly",
    "RESULT_COLUMNS",
    "check_in_opens",
    "results_clean",
    "results_history",
    "NOT_CONTACTED",
    "OUTREACH_STATES",
    "RETRY_DUE",
    "WORKLIST_SORTS",
    "booking_invite_deliver",
    "booking_invite_send",
    "booking_link",
    "contact_preference_set",
    "latest_outreach",
    "open_invites",
    "outreach_record",
    "preferred_channel",
    "suggested_visit_type",
    "suggested_visit_type_for",
    "worklist_view",
    "ACTIVE",
    "BOOKING_HORIZON",
    "ConsoleSms",
    "DEADLOCK_RETRIES",
    "Epoch",
    "FOLLOW_UP_CODE",
    "NEXT_FREE_COUNT",
    "PackedSpans",
    "SLOT_STEP",
    "Slot",
    "SlotTaken",
    "URGENT_CODE",
    "URGENT_REASONS",
    "URGENT_WITHIN_DAYS",
    "VisitError",
    "WORKLIST_HORIZON_DAYS",
    "WorklistRow",
    "center_zone",
    "clinician_day_lists",
    "clinicians_for",
    "due_dates",
    "follow_up_due",
    "last_checks_done",
    "next_free_slots",
    "next_visit_by_patient",
    "next_visit_start",
    "reminder_lead",
    "reminders_due",
    "sms_backend",
    "urgent_reasons",
    "visit_book",
    "visit_cancel",
    "visit_check_in",
    "visit_complete",
    "visit_mark_no_show",
    "visit_message_send",
    "visit_request_reschedule",
    "visit_reschedule",
    "visit_slots",
    "visits_visible_to",
    "window_epochs_for",
    "windows_for",
    "worklist",
]
