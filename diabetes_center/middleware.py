"""Response headers that every dynamic answer carries.

- ``Content-Security-Policy``: scripts only from our own static files (no inline script, no
  eval): page behaviour lives in ``static/js/``, figure data in ``<script type=
  "application/json">`` elements, which are data. Inline ``style`` attributes stay allowed
  (Plotly positions its SVG with them).
- ``Cache-Control: no-store`` (Django's ``never_cache`` set): pages, API answers, CSV, PDF,
  FHIR and Nightscout answers hold patient data that no browser or proxy cache should keep.
  Static files are answered by WhiteNoise before this middleware and stay cacheable.

A view that sets its own ``Cache-Control`` or CSP keeps it.

``RefuseNulMiddleware`` answers 400 to a NUL character in the path, a query or a form value,
and 413 to a form body larger than ``DATA_UPLOAD_MAX_MEMORY_SIZE`` (Django's bare 400 page
before).
"""

import time

from django import db
from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.http import HttpResponse, HttpResponseBadRequest, JsonResponse
from django.utils.cache import add_never_cache_headers
from django.utils.translation import gettext as _

from common import replicas
from common.metrics import REQUEST_LATENCY
from readings.forms import declared_too_large


class SecurityHeadersMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response
        self.policy = "; ".join(
            f"{directive} {sources}" for directive, sources in settings.CONTENT_SECURITY_POLICY
        )

    def __call__(self, request):
        response = self.get_response(request)
        if "Content-Security-Policy" not in response:
            response["Content-Security-Policy"] = self.policy
        if "Cache-Control" not in response:
            add_never_cache_headers(response)
        return response


# Read-your-writes with read replicas: the primary's WAL position after this browser's last
# write. A day at most: a replica that far behind is an outage, not lag.
READ_AFTER_COOKIE = "dc_read_after"
READ_AFTER_MAX_AGE = 24 * 3600

NUL = "\x00"
FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


class RefuseNulMiddleware:
    """A NUL character in the path, a query or a form value (name or value) answers 400.

    No field of ours means NUL, and PostgreSQL text cannot hold it: a search term, an id or
    the audit row of a refused request that carried one failed in the database (a 500 on
    ``/api/v1/triage/?q=%00`` or ``/visits/book/?patient=%00``). Refused here, before any
    view or the audit trail sees it. Form bodies are read as Django reads them anyway (the
    CSRF check does); a multipart body larger than an upload may be is left to the view,
    which answers 413 without reading it. JSON bodies are the serializers' (DRF's text
    fields refuse NUL). Percent-encoded invalid UTF-8 needs nothing here: Django decodes it
    to U+FFFD, never to a lone surrogate.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        try:
            holds_nul = self._holds_nul(request)
        except RequestDataTooBig:  # a form body over DATA_UPLOAD_MAX_MEMORY_SIZE, unread
            mb = settings.DATA_UPLOAD_MAX_MEMORY_SIZE // (1024 * 1024)
            message = _("The request body is larger than %(mb)s MB.") % {"mb": mb}
            if request.path_info.startswith(("/api/", "/ns/")):
                return JsonResponse({"detail": message}, status=413)
            return HttpResponse(message, status=413, content_type="text/plain; charset=utf-8")
        if holds_nul:
            message = _("The request holds a NUL character, which no field accepts.")
            if request.path_info.startswith(("/api/", "/ns/")):
                return JsonResponse({"detail": message}, status=400)
            return HttpResponseBadRequest(message, content_type="text/plain; charset=utf-8")
        return self.get_response(request)

    def _holds_nul(self, request) -> bool:
        if NUL in request.path_info or _in_query_dict(request.GET):
            return True
        if request.method != "POST" or not request.content_type.startswith(FORM_TYPES):
            return False
        if request.content_type == "multipart/form-data" and declared_too_large(request):
            return False
        return _in_query_dict(request.POST)


def _in_query_dict(data) -> bool:
    return any(NUL in key or any(NUL in v for v in values) for key, values in data.lists())


class RequestLatencyMiddleware:
    """Time every answer for ``/metrics`` (``common.metrics.REQUEST_LATENCY``), labelled by
    the URL *pattern* the request matched (``api/v1/patients/<int:pk>/readings/``), never its
    path: no ids, no Nightscout keys, and a bounded number of series."""

    METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        started = time.perf_counter()
        response = self.get_response(request)
        match = getattr(request, "resolver_match", None)
        route = (match.route or match.view_name) if match is not None else "unmatched"
        method = request.method if request.method in self.METHODS else "other"
        REQUEST_LATENCY.labels(
            method=method, route=route, status=f"{response.status_code // 100}xx"
        ).observe(time.perf_counter() - started)
        return response


class ReadYourWritesMiddleware:
    """With read replicas, the person who just wrote reads the primary until a replica has
    caught up with their write (``common.replicas``, "Read-your-writes").

    After a request that may have written (any method but GET, HEAD, OPTIONS, TRACE) the
    answer sets ``READ_AFTER_COOKIE`` to the primary's WAL position; on later requests heavy
    reads use only a replica that has replayed past it, and the cookie is deleted once one
    has. The value is a WAL position, nothing about the person; a forged one only makes its
    sender read the primary. Without replicas this middleware passes requests through.
    """

    SAFE = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if not replicas.aliases():
            return self.get_response(request)
        token = replicas.pin(request.COOKIES.get(READ_AFTER_COOKIE))
        try:
            response = self.get_response(request)
        finally:
            caught_up = replicas.unpin(token)
        if request.method not in self.SAFE:
            try:
                position = replicas.primary_lsn()
            except (db.OperationalError, db.InterfaceError):
                position = None  # the primary is away: this answer is a 503 anyway
            if position:
                response.set_cookie(
                    READ_AFTER_COOKIE,
                    position,
                    max_age=READ_AFTER_MAX_AGE,
                    secure=settings.SESSION_COOKIE_SECURE,
                    httponly=True,
                    samesite="Lax",
                )
        elif caught_up:
            response.delete_cookie(READ_AFTER_COOKIE, samesite="Lax")
        return response
