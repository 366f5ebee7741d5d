from django.urls import path

from monitoring import rota_views, views

urlpatterns = [
    path("monitoring/alerts/", views.alert_inbox, name="monitoring-alerts"),
    path("monitoring/alerts/count/", views.alert_count, name="monitoring-alerts-count"),
    path("monitoring/alerts/<int:pk>/", views.alert_detail, name="monitoring-alert"),
    path("monitoring/patients/<int:pk>/mute/", views.patient_mute, name="monitoring-mute"),
    path("monitoring/rota/", rota_views.rota_page, name="monitoring-rota"),
    path(
        "monitoring/rota/shifts/<int:pk>/remove/",
        rota_views.rota_shift_remove,
        name="monitoring-rota-shift-remove",
    ),
]
