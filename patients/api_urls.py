from django.urls import path

from patients import api

urlpatterns = [
    path("patients/", api.patient_list, name="api-patients-list"),
    path("patients/<int:pk>/", api.patient_detail, name="api-patients-detail"),
    path("patients/<int:pk>/consents/", api.patient_consents, name="api-patients-consents"),
]
