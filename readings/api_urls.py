from django.urls import path, re_path

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
    # A regex so that the schema keeps the "$" of the FHIR operation's name: drf-spectacular
    # reads a path() route as a regex and would drop an unescaped "$" (documenting a URL that
    # answers 404).
    re_path(
        r"^patients/(?P<pk>[0-9]+)/fhir/\$submit-cgm-bundle$",
        fhir_api.submit_cgm_bundle,
        name="api-patients-fhir-submit-cgm-bundle",
    ),
]
