from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from accounts import views as account_views

api_v1 = [
    path("", include("patients.api_urls")),
    path("", include("readings.api_urls")),
    path("", include("reports.api_urls")),
    path("", include("care_plans.api_urls")),
    path("", include("visits.api_urls")),
]

urlpatterns = [
    path("", account_views.home, name="home"),
    path(
        "accounts/login/",
        auth_views.LoginView.as_view(
            template_name="accounts/login.html", http_method_names=["get", "head", "post"]
        ),
        name="login",
    ),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("accounts/preferences/", account_views.preferences, name="preferences"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("", include("patients.urls")),
    path("", include("readings.urls")),
    path("", include("reports.urls")),
    path("", include("care_plans.urls")),
    path("", include("visits.urls")),
    path("api/v1/", include(api_v1)),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path(
        "api/docs/",  # the split view serves its script as a file: no inline script for the CSP
        login_required(SpectacularSwaggerSplitView.as_view(url_name="api-schema")),
        name="api-docs",
    ),
    path("admin/", admin.site.urls),
]
