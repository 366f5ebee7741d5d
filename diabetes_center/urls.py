from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.urls import include, path
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_http_methods, require_POST
from django.views.i18n import set_language
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from accounts import views as account_views
from diabetes_center import operations
from workspace import home

PAGE_METHODS = ["get", "head", "post"]  # pages answer only the methods they mean

api_v1 = [
    path("", include("patients.api_urls")),
    path("", include("workspace.api_urls")),
    path("", include("readings.api_urls")),
    path("", include("reports.api_urls")),
    path("", include("care_plans.api_urls")),
    path("", include("visits.api_urls")),
    path("", include("monitoring.api_urls")),
    path("", include("consultations.api_urls")),
]

urlpatterns = [
    path("", home.home, name="home"),
    path(
        "accounts/login/",
        auth_views.LoginView.as_view(
            template_name="accounts/login.html", http_method_names=["get", "head", "post"]
        ),
        name="login",
    ),
    path(
        "accounts/logout/",
        auth_views.LogoutView.as_view(http_method_names=["post"]),  # not OPTIONS either
        name="logout",
    ),
    path("accounts/preferences/", account_views.preferences, name="preferences"),
    path("accounts/two-factor/", account_views.two_factor_setup, name="two-factor-setup"),
    path("accounts/two-factor/verify/", account_views.two_factor_verify, name="two-factor-verify"),
    path(
        "accounts/sign-out-everywhere/",
        account_views.sign_out_everywhere,
        name="sign-out-everywhere",
    ),
    path(
        "accounts/password/change/",
        auth_views.PasswordChangeView.as_view(
            http_method_names=PAGE_METHODS,
            template_name="accounts/password_form.html",
            extra_context={"title": _("Change password")},
        ),
        name="password_change",
    ),
    path(
        "accounts/password/change/done/",
        auth_views.PasswordChangeDoneView.as_view(
            http_method_names=["get", "head"],
            template_name="accounts/password_message.html",
            extra_context={
                "title": _("Password changed"),
                "message": _("Your password was changed."),
            },
        ),
        name="password_change_done",
    ),
    path(
        "accounts/password/reset/",
        auth_views.PasswordResetView.as_view(
            http_method_names=PAGE_METHODS,
            template_name="accounts/password_form.html",
            email_template_name="accounts/password_reset_email.txt",
            subject_template_name="accounts/password_reset_subject.txt",
            extra_context={
                "title": _("Reset your password"),
                "intro": _("Enter the e-mail address of your account; we will send a link."),
            },
        ),
        name="password_reset",
    ),
    path(
        "accounts/password/reset/sent/",
        auth_views.PasswordResetDoneView.as_view(
            http_method_names=["get", "head"],
            template_name="accounts/password_message.html",
            extra_context={
                "title": _("Check your e-mail"),
                "message": _(
                    "If an account has that address, a link to choose a new password is on "
                    "its way. It works once and expires within an hour."
                ),
            },
        ),
        name="password_reset_done",
    ),
    path(
        "accounts/password/reset/<uidb64>/<token>/",
        # Its dispatch answers an invalid link before the method check: refuse methods first.
        require_http_methods(["GET", "HEAD", "POST"])(
            auth_views.PasswordResetConfirmView.as_view(
                http_method_names=PAGE_METHODS,
                template_name="accounts/password_form.html",
                extra_context={"title": _("Choose a new password")},
            )
        ),
        name="password_reset_confirm",
    ),
    path(
        "accounts/password/reset/done/",
        auth_views.PasswordResetCompleteView.as_view(
            http_method_names=["get", "head"],
            template_name="accounts/password_message.html",
            extra_context={
                "title": _("Password set"),
                "message": _("Your new password is set. You can sign in with it now."),
                "sign_in": True,
            },
        ),
        name="password_reset_complete",
    ),
    # Django's language switch answers every method; the page's form POSTs to it.
    path("i18n/setlang/", require_POST(set_language), name="set_language"),
    path("", include("workspace.urls")),
    path("", include("readings.urls")),
    path("", include("reports.urls")),
    path("", include("care_plans.urls")),
    path("", include("visits.urls")),
    path("", include("monitoring.urls")),
    path("", include("consultations.urls")),
    path("api/v1/", include(api_v1)),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path(
        "api/docs/",  # the split view serves its script as a file: no inline script for the CSP
        login_required(
            # GET only: DRF's OPTIONS answer has no template to render here (a 500).
            SpectacularSwaggerSplitView.as_view(
                url_name="api-schema", http_method_names=["get", "head"]
            )
        ),
        name="api-docs",
    ),
    path("admin/", admin.site.urls),
    # Operations (README "Operations: /health and /metrics"): the pipeline's state for an
    # outside prober (anyone), Prometheus figures (admins or the scrape token).
    path("health/", operations.health, name="health"),
    path("metrics", operations.metrics, name="metrics"),
]

# A database that is away (PostgreSQL restarting) answers 503 + Retry-After, not 500.
handler500 = "diabetes_center.errors.server_error"
