from django.urls import path

from patients import views

urlpatterns = [
    path("patients/", views.patient_list, name="patients-list"),
    path("patients/<int:pk>/", views.patient_detail, name="patients-detail"),
    path("patients/<int:pk>/review/", views.patient_review, name="patients-review"),
]
