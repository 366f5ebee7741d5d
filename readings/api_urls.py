from django.urls import path

from readings import api, fhir_api

urlpatterns = [
    path("patients/<int:pk>/readings/", api.patient_readings, name="api-patients-readings"),
    path("patients/<int:pk>/uploads/", api.patient_uploads, name="api-patients-uploads"),
    path("uploads/<int:pk>/", api.upload_detail, name="api-uploads-detail"),
    path(
        "patients/<int:pk>/device-tokens/",
        api.patient_device_tokens,
        name="api-patients-device-tokens",
    ),
    path(
        "patients/<int:pk>/device-tokens/<int:token_pk>/",
        api.patient_device_token_revoke,
        name="api-patients-device-tokens-revoke",
    ),
    path(
        "patients/<int:pk>/fhir/$submit-cgm-bundle",
        fhir_api.submit_cgm_bundle,
        name="api-patients-fhir-submit-cgm-bundle",
    ),
]
