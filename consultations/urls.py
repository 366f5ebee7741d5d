from django.urls import path

from consultations import views

urlpatterns = [
    path("consultations/", views.consultation_list, name="consultations-list"),
    path("consultations/ask/", views.consultation_ask, name="consultations-ask"),
    path("consultations/<int:pk>/", views.consultation_detail, name="consultations-detail"),
    path("consultations/<int:pk>/assign/", views.consultation_assign, name="consultations-assign"),
    path("consultations/<int:pk>/close/", views.consultation_close, name="consultations-close"),
    path(
        "consultations/<int:pk>/book-visit/",
        views.consultation_book_visit,
        name="consultations-book-visit",
    ),
    path("consultations/photos/<int:pk>/", views.photo, name="consultations-photo"),
    path("consultations/templates/", views.reply_templates, name="consultations-templates"),
    path(
        "consultations/medication-requests/new/",
        views.medication_request_new,
        name="medication-requests-new",
    ),
    path(
        "consultations/medication-requests/<int:pk>/",
        views.medication_request_detail,
        name="medication-requests-detail",
    ),
    path(
        "consultations/medication-requests/<int:pk>/slip.pdf",
        views.medication_request_slip,
        name="medication-requests-slip",
    ),
]
