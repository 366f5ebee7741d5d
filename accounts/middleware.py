from django.utils import translation

from accounts.access import audit, client_ip


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


class AuditMiddleware:
    """Remember the client's address for ``accounts.access.audit`` and record every 401/403.

    Refusals by ``get_patient_for`` (404, existence not leaked) are recorded where they happen.
    The address is REMOTE_ADDR: behind a reverse proxy, have the proxy set it (e.g. gunicorn's
    ``--forwarded-allow-ips``) rather than trusting a client-supplied header here.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        with client_ip(request.META.get("REMOTE_ADDR") or None):
            response = self.get_response(request)
            if response.status_code in (401, 403):
                audit(
                    getattr(request, "user", None),
                    None,
                    "denied",
                    f"{request.method} {request.path}",
                    outcome="denied",
                )
            return response
