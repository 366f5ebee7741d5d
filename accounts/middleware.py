import time
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.views import redirect_to_login
from django.http import JsonResponse
from django.shortcuts import redirect
from django.urls import Resolver404, resolve, reverse
from django.utils import translation
from django.utils.translation import gettext as _
from django_otp import user_has_device

from accounts.access import audit, client_ip, needs_second_factor
from accounts.throttling import failure_count, failure_limited


class UserPreferencesMiddleware:
    """Activate the signed-in user's language unless they chose one this session."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        cookie = request.COOKIES.get("django_language")
        if user is not None and user.is_authenticated and user.language and not cookie:
            translation.activate(user.language)
            request.LANGUAGE_CODE = translation.get_language()
        return self.get_response(request)


REFUSALS = "anonymous"  # settings.THROTTLE_RATES key: refusals per client address


class AuditMiddleware:
    """Remember the client's address for ``accounts.access.audit``, record every 401/403, and
    answer 429 to an address whose anonymous requests were refused too often.

    Refusals by ``get_patient_for`` (404, existence not leaked) are recorded where they happen.
    The address is REMOTE_ADDR: behind a reverse proxy, have the proxy set it (e.g. gunicorn's
    ``--forwarded-allow-ips``) rather than trusting a client-supplied header here.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        address = request.META.get("REMOTE_ADDR") or None
        with client_ip(address):
            if failure_limited(REFUSALS, address or ""):
                # DRF checks permissions before throttles, so an anonymous client would be
                # refused forever without ever being slowed down: count its refusals here.
                return JsonResponse({"detail": "Too many refused requests."}, status=429)
            response = self.get_response(request)
            if response.status_code in (401, 403):
                user = getattr(request, "user", None)
                audit(user, None, "denied", f"{request.method} {request.path}", outcome="denied")
                if not (user and user.is_authenticated):
                    failure_count(REFUSALS, address or "")
            return response


# Pages reachable before the second factor: signing in and out, the two-factor pages, the
# password-reset flow (for signed-out people anyway) and the language switch.
BEFORE_SECOND_FACTOR = {
    "login",
    "logout",
    "two-factor-verify",
    "two-factor-setup",
    "set_language",
    "password_reset",
    "password_reset_done",
    "password_reset_confirm",
    "password_reset_complete",
}


class SessionPolicyMiddleware:
    """Sign staff, clinicians and admins out after ``SESSION_IDLE_TIMEOUT_MINUTES`` idle, and
    hold anyone who needs a second factor (``accounts.access.needs_second_factor``) at the
    two-factor pages until they give it."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            if self._idle_too_long(request, user):
                logout(request)
                messages.info(request, _("You were signed out after a period of inactivity."))
                return redirect_to_login(request.get_full_path())
            if not user.is_verified() and needs_second_factor(user):
                match = resolve_or_none(request.path_info)
                if match is None or match.url_name not in BEFORE_SECOND_FACTOR:
                    return self._ask_second_factor(request, user)
        return self.get_response(request)

    def _idle_too_long(self, request, user) -> bool:
        minutes = settings.SESSION_IDLE_TIMEOUT_MINUTES
        if not minutes or user.is_patient:
            return False
        now = int(time.time())
        last = request.session.get("last_seen", now)
        if now - last > minutes * 60:
            return True
        if now - last >= 30 or "last_seen" not in request.session:  # fewer session writes
            request.session["last_seen"] = now
        return False

    def _ask_second_factor(self, request, user):
        if request.path_info.startswith(("/api/", "/ns/")):
            return JsonResponse({"detail": "Two-factor sign-in required."}, status=403)
        name = "two-factor-verify" if user_has_device(user) else "two-factor-setup"
        return redirect(f"{reverse(name)}?{urlencode({'next': request.get_full_path()})}")


def resolve_or_none(path: str):
    try:
        return resolve(path)
    except Resolver404:
        return None
