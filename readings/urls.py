from django.urls import include, path

from readings import views

urlpatterns = [
    path("patients/<int:pk>/upload/", views.upload_new, name="readings-upload"),
    path("patients/<int:pk>/uploads/", views.upload_list, name="readings-uploads"),
    path("patients/<int:pk>/nightscout/", views.nightscout_settings, name="readings-nightscout"),
    path("patients/<int:pk>/tokens/", views.device_token_new, name="readings-token-new"),
    path(
        "patients/<int:pk>/tokens/<int:token_pk>/revoke/",
        views.device_token_revoke,
        name="readings-token-revoke",
    ),
    path("uploads/<int:pk>/", views.upload_detail, name="readings-upload-detail"),
    path("ns/<str:key>/", include("readings.nightscout_urls")),
]
