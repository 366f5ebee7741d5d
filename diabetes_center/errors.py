"""The 500 handler (production mode, ``DEBUG=0``): a database that is away answers 503.

While PostgreSQL restarts or fails over, a request that needs it cannot be served. The client
is told to come back (``503`` + ``Retry-After``), never "accepted": nothing it sent was
acknowledged, and sending it again is safe (readings are unique per instant, uploads are new
rows). The next request reconnects (``CONN_HEALTH_CHECKS``, settings). This handler touches
no database and no template that would.
"""

import sys

from django import db
from django.http import HttpResponse, JsonResponse
from django.views.defaults import server_error as django_server_error

RETRY_AFTER_SECONDS = 5
DATABASE_AWAY = (
    "The database is unavailable for a moment; this request was not completed. "
    "Send it again shortly (a repeated upload adds nothing twice)."
)


def server_error(request, *args, **kwargs):
    exc = sys.exc_info()[1]
    if not isinstance(exc, db.OperationalError | db.InterfaceError):
        return django_server_error(request, *args, **kwargs)
    wants_json = request.path.startswith(("/api/", "/ns/")) or "json" in request.headers.get(
        "Accept", ""
    )
    if wants_json:
        response = JsonResponse({"detail": DATABASE_AWAY}, status=503)
    else:
        response = HttpResponse(
            f"<!doctype html><title>Try again shortly</title><h1>Try again shortly</h1>"
            f"<p>{DATABASE_AWAY}</p>",
            status=503,
        )
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response
