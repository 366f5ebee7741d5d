from django.urls import path

from care_plans import api

urlpatterns = [
    path("patients/<int:pk>/care-plan/", api.patient_care_plan, name="api-patients-care-plan"),
    path(
        "patients/<int:pk>/care-plan/versions/",
        api.patient_care_plan_versions,
        name="api-patients-care-plan-versions",
    ),
    path(
        "patients/<int:pk>/care-plan/fhir/",
        api.patient_care_plan_fhir,
        name="api-patients-care-plan-fhir",
    ),
]
