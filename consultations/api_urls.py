from django.urls import path

from consultations import api

urlpatterns = [
    path("consultations/", api.consultation_list, name="api-consultations-list"),
    path("consultations/<int:pk>/", api.consultation_detail, name="api-consultations-detail"),
    path(
        "consultations/<int:pk>/messages/",
        api.consultation_messages,
        name="api-consultations-messages",
    ),
    path("consultations/<int:pk>/close/", api.consultation_close, name="api-consultations-close"),
    path(
        "patients/<int:pk>/medication-requests/",
        api.patient_medication_requests,
        name="api-patients-medication-requests",
    ),
    path(
        "medication-requests/<int:pk>/decide/",
        api.medication_request_decide,
        name="api-medication-requests-decide",
    ),
]
