from django.urls import path

from reports import views

urlpatterns = [
    path("reports/unread/", views.reports_unread, name="reports-unread"),
    path("reports/<int:pk>/", views.report_detail, name="reports-detail"),
    path("reports/<int:pk>/pdf/", views.report_pdf, name="reports-pdf"),
    path("reports/<int:pk>/note/", views.report_note, name="reports-note"),
    path("reports/<int:pk>/read/", views.report_mark_read, name="reports-mark-read"),
    path(
        "reports/suggestions/<int:pk>/dismiss/",
        views.suggestion_dismiss_page,
        name="reports-suggestion-dismiss",
    ),
    path(
        "patients/<int:patient_pk>/reports/generate/",
        views.report_generate_now,
        name="reports-generate",
    ),
]
