from django.urls import path

from visits import frontdesk_views, setup_views, views

urlpatterns = [
    path("visits/", views.calendar, name="visits-calendar"),
    path("visits/worklist/", frontdesk_views.worklist, name="visits-worklist"),
    path(
        "visits/patients/<int:pk>/outreach/",
        frontdesk_views.outreach,
        name="visits-outreach",
    ),
    path("visits/patients/<int:pk>/invite/", frontdesk_views.invite, name="visits-invite"),
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
