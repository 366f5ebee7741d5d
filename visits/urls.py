from django.urls import include, path

from visits import (
    closure_views,
    frontdesk_views,
    grid_views,
    selfbook_views,
    setup_views,
    views,
    waitlist_views,
)

# Issue #19's front-desk pages, named in the ``visits`` namespace. ``/visits/book/`` is the
# patient's own booking page (``visits:self_book``, where booking invites lead); it serves
# staff the staff booking page (``visits-book``), so it comes first.
front_desk = [
    path("visits/book/", selfbook_views.self_book, name="self_book"),
    path("visits/book/request/", selfbook_views.self_request, name="self_request"),
    path("visits/book/<int:pk>/cancel/", selfbook_views.self_cancel, name="self_cancel"),
    path("visits/requests/", selfbook_views.requests_list, name="requests"),
    path("visits/waitlist/", waitlist_views.waitlist_join, name="waitlist_join"),
    path("visits/waitlist/<int:pk>/leave/", waitlist_views.waitlist_leave, name="waitlist_leave"),
    path(
        "visits/waitlist/offers/<int:pk>/accept/",
        waitlist_views.waitlist_accept,
        name="waitlist_accept",
    ),
    path("visits/requests/<int:pk>/close/", selfbook_views.request_close, name="request_close"),
    path("visits/setup/closures/", closure_views.closure_all, name="closure_all"),
    path("visits/setup/closures/<int:pk>/move/", closure_views.closure_move, name="closure_move"),
    path(
        "visits/setup/closures/<int:pk>/cancel/",
        closure_views.closure_cancel,
        name="closure_cancel",
    ),
    path("visits/grid/", grid_views.schedule, name="grid"),
    path("visits/grid/move/", grid_views.grid_move, name="grid_move"),
    path("visits/grid/day-list/", grid_views.day_list, name="day_list"),
]

urlpatterns = [
    path("", include((front_desk, "visits"))),
    path("visits/", views.calendar, name="visits-calendar"),
    path("visits/worklist/", frontdesk_views.worklist, name="visits-worklist"),
    path(
        "visits/patients/<int:pk>/outreach/",
        frontdesk_views.outreach,
        name="visits-outreach",
    ),
    path("visits/patients/<int:pk>/invite/", frontdesk_views.invite, name="visits-invite"),
    path(
        "visits/booking-requests/<int:pk>/dismiss/",
        frontdesk_views.booking_request_dismiss_view,
        name="visits-booking-request-dismiss",
    ),
    path("visits/book/", views.book, name="visits-book"),
    path("visits/book/first/", views.book_first, name="visits-book-first"),
    path("visits/calendar.ics", views.my_calendar, name="visits-my-calendar"),
    path("visits/feed/", views.feed_settings, name="visits-feed-settings"),
    path("visits/feed/<str:token>.ics", views.feed, name="visits-feed"),
    path("visits/setup/", setup_views.center_setup, name="visits-setup"),
    path(
        "visits/setup/<slug:part>/<int:pk>/remove/",
        setup_views.center_remove,
        name="visits-setup-remove",
    ),
    path(
        "visits/setup/clinicians/<int:pk>/",
        setup_views.clinician_setup,
        name="visits-setup-clinician",
    ),
    path(
        "visits/setup/clinicians/<int:pk>/<slug:part>/<int:item>/remove/",
        setup_views.clinician_remove,
        name="visits-setup-clinician-remove",
    ),
    path("visits/setup/types/", setup_views.visit_types, name="visits-setup-types"),
    path("visits/setup/types/<int:pk>/", setup_views.visit_type_edit, name="visits-setup-type"),
    path("visits/<int:pk>/", views.detail, name="visits-detail"),
    path("visits/<int:pk>/reschedule/", views.reschedule, name="visits-reschedule"),
    path(
        "visits/<int:pk>/<slug:name>/",
        views.action,
        name="visits-action",
    ),
]
