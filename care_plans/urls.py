from django.urls import path

from care_plans import views

urlpatterns = [
    path("patients/<int:pk>/care-plan/", views.care_plan_page, name="care-plans-detail"),
    path(
        "patients/<int:pk>/care-plan/targets/",
        views.care_plan_targets,
        name="care-plans-targets",
    ),
    path(
        "patients/<int:pk>/care-plan/medication-row/",
        views.care_plan_medication_row,
        name="care-plans-medication-row",
    ),
    path(
        "patients/<int:pk>/care-plan/history/",
        views.care_plan_history,
        name="care-plans-history",
    ),
    path(
        "patients/<int:pk>/care-plan/compare/",
        views.care_plan_compare,
        name="care-plans-compare",
    ),
]
