from django.urls import path

from monitoring import api

urlpatterns = [
    path("patients/<int:pk>/monitoring/", api.patient_monitoring, name="api-patients-monitoring"),
    path("alerts/", api.alert_list, name="api-alerts-list"),
    path("alerts/<int:pk>/", api.alert_detail, name="api-alerts-detail"),
    path("alerts/<int:pk>/acknowledge/", api.alert_acknowledge, name="api-alerts-acknowledge"),
]
