"""The Celery app for broker tests: the project's app with a short Redis visibility timeout,
so a message whose worker was SIGKILLed is redelivered within seconds instead of an hour."""

from diabetes_center.celery import app

VISIBILITY_TIMEOUT_SECONDS = 6
app.conf.broker_transport_options = {
    "visibility_timeout": VISIBILITY_TIMEOUT_SECONDS,
    "unacked_restore_interval": 2,  # look for expired unacked messages every 2 s ...
    "unacked_restore_throttle": 1,  # ... on every look (kombu's default: every 10th)
}

__all__ = ["app"]
