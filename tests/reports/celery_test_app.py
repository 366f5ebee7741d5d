"""The Celery app for broker tests: the project's app with a short Redis visibility timeout,
so a message whose worker was SIGKILLed is redelivered within seconds instead of an hour."""

import os

from diabetes_center.celery import app

# A test may need longer (its tasks must finish within it, or they are delivered twice).
VISIBILITY_TIMEOUT_SECONDS = int(os.environ.get("CELERY_VISIBILITY_TIMEOUT_SECONDS") or 6)
app.conf.broker_transport_options = {
    "visibility_timeout": VISIBILITY_TIMEOUT_SECONDS,
    "unacked_restore_interval": 2,  # look for expired unacked messages every 2 s ...
    "unacked_restore_throttle": 1,  # ... on every look (kombu's default: every 10th)
}

__all__ = ["app"]
