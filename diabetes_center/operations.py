"""Operations endpoints (issue #20 §5, README "Operations: /health and /metrics").

- ``GET /health/``: anyone, no sign-in. 200 when every part of the pipeline works, 503 when
  one does not, with the JSON state of each (``outbox.health.health_report``: counts and
  ages only, no patient data). Each probe also runs the degraded-alerting watch, so an
  outside prober notices a dead worker *and* a dead beat.
- ``GET /metrics``: Prometheus text. Admins by their session, a Prometheus server by
  ``Authorization: Bearer <METRICS_SCRAPE_TOKEN>`` (compared in constant time); no
  credentials 401, a wrong token 401, anyone else signed in 403.
"""

import hmac
import logging

from django.conf import settings
from django.http import HttpResponse, JsonResponse
from django.views.decorators.http import require_http_methods

from accounts.access import may_read_metrics
from common.metrics import exposition
from outbox.health import health_report, observe, pipeline_watch

logger = logging.getLogger(__name__)


@require_http_methods(["GET", "HEAD"])
def health(request):
    observation, broker = observe()
    try:
        pipeline_watch(observation=observation)
    except Exception:  # a notice that cannot be sent must not hide the answer
        logger.exception("pipeline: the watch failed during /health/")
    report = health_report(observation, broker)
    return JsonResponse(report, status=200 if report["status"] == "ok" else 503)


def _token_matches(given: str) -> bool:
    expected = settings.METRICS_SCRAPE_TOKEN
    if not expected:
        return False
    # Bytes, so any header text compares (compare_digest refuses non-ASCII str).
    return hmac.compare_digest(
        given.encode("utf-8", "surrogatepass"), expected.encode("utf-8", "surrogatepass")
    )


def _unauthorized(message: str) -> JsonResponse:
    response = JsonResponse({"detail": message}, status=401)
    response["WWW-Authenticate"] = 'Bearer realm="metrics"'
    return response


@require_http_methods(["GET", "HEAD"])
def metrics(request):
    scheme, _, token = request.META.get("HTTP_AUTHORIZATION", "").partition(" ")
    if scheme.lower() == "bearer":
        if not _token_matches(token.strip()):
            return _unauthorized("Invalid scrape token.")
    elif not may_read_metrics(request.user):
        if not request.user.is_authenticated:
            return _unauthorized("Sign in as an administrator, or send the scrape token.")
        return JsonResponse({"detail": "Metrics are for administrators."}, status=403)
    body, content_type = exposition()
    return HttpResponse(body, content_type=content_type)
