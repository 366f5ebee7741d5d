from django.urls import path

from workspace import views

urlpatterns = [
    path("my/glucose/", views.my_glucose, name="my-glucose"),
    path("patients/", views.patient_list, name="patients-list"),
    path("patients/population/", views.population_view, name="patients-population"),
    path("patients/<int:pk>/", views.patient_detail, name="patients-detail"),
    path("patients/<int:pk>/day/", views.patient_day, name="patients-day"),
    path("patients/<int:pk>/reports/", views.patient_reports, name="patients-reports"),
    path("patients/<int:pk>/plan/", views.patient_plan, name="patients-plan"),
    path("patients/<int:pk>/files/", views.patient_files, name="patients-files"),
    path("patients/<int:pk>/visits/", views.patient_visits, name="patients-visits"),
    path("patients/<int:pk>/alerts/", views.patient_alerts, name="patients-alerts"),
    path(
        "patients/<int:pk>/alerts/monitoring/",
        views.patient_monitoring,
        name="patients-monitoring",
    ),
    path("patients/<int:pk>/access/", views.patient_access, name="patients-access"),
    path("patients/<int:pk>/privacy/", views.patient_privacy, name="patients-privacy"),
    path("patients/<int:pk>/consent/", views.patient_consent, name="patients-consent"),
    path("patients/<int:pk>/export.zip", views.patient_export_zip, name="patients-export-zip"),
    path(
        "patients/<int:pk>/export.fhir.json",
        views.patient_export_fhir,
        name="patients-export-fhir",
    ),
    path("patients/<int:pk>/review/", views.patient_review, name="patients-review"),
]
