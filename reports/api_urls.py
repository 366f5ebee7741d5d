from django.urls import path

from reports import api

urlpatterns = [
    path("patients/<int:pk>/reports/", api.patient_reports, name="api-patients-reports"),
    path("reports/<int:pk>/", api.report_detail, name="api-reports-detail"),
    path("reports/<int:pk>/fhir/", api.report_fhir, name="api-reports-fhir"),
    path("reports/<int:pk>/suggestions/", api.report_suggestions, name="api-reports-suggestions"),
    path(
        "suggestions/<int:pk>/dismiss/",
        api.suggestion_dismiss_api,
        name="api-suggestions-dismiss",
    ),
]
