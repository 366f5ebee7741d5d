from django.urls import path

from visits import api, frontdesk_api

urlpatterns = [
    path("visits/", api.visit_list, name="api-visits-list"),
    path("visits/slots/", api.visit_slots, name="api-visits-slots"),
    path("visits/worklist/", frontdesk_api.worklist, name="api-visits-worklist"),
    path(
        "visits/booking-requests/<int:pk>/dismiss/",
        frontdesk_api.booking_request_dismiss,
        name="api-visits-booking-requests-dismiss",
    ),
    path("visits/<int:pk>/", api.visit_detail, name="api-visits-detail"),
    path("visits/<int:pk>/reschedule/", api.visit_reschedule, name="api-visits-reschedule"),
    path("visits/<int:pk>/cancel/", api.visit_cancel, name="api-visits-cancel"),
    path(
        "visits/<int:pk>/request-reschedule/",
        api.visit_request_reschedule,
        name="api-visits-request-reschedule",
    ),
    path("visits/<int:pk>/check-in/", api.visit_check_in, name="api-visits-check-in"),
    path("visits/<int:pk>/no-show/", api.visit_no_show, name="api-visits-no-show"),
    path("visits/<int:pk>/complete/", api.visit_complete, name="api-visits-complete"),
    path("patients/<int:pk>/visits/", api.patient_visits, name="api-patients-visits"),
    path(
        "patients/<int:pk>/waitlist/",
        frontdesk_api.patient_waitlist,
        name="api-patients-waitlist",
    ),
    path("waitlist-offers/", frontdesk_api.waitlist_offers, name="api-waitlist-offers"),
    path(
        "waitlist-offers/<int:pk>/accept/",
        frontdesk_api.waitlist_offer_accept,
        name="api-waitlist-offers-accept",
    ),
    path(
        "patients/<int:pk>/outreach/",
        frontdesk_api.patient_outreach,
        name="api-patients-outreach",
    ),
    path("clinicians/", api.clinician_list, name="api-clinicians-list"),
    path("visit-types/", api.visit_type_list, name="api-visit-types-list"),
]
