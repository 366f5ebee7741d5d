from django.urls import path

from workspace import api, metrics_api

urlpatterns = [
    path(
        "patients/<int:pk>/metrics/", metrics_api.patient_metrics_view, name="api-patients-metrics"
    ),
    path("patients/<int:pk>/export/", api.patient_export, name="api-patients-export"),
    path("triage/", api.triage, name="api-triage"),
    path("audit/", api.audit_list, name="api-audit"),
]
