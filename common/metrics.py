"""Operational figures for Prometheus (the maintained ``prometheus-client`` package), read at
``GET /metrics`` (``diabetes_center.operations``: admins, or a scrape token).

Two kinds of figure:

- **live**, counted by the process where things happen: ``READINGS_INGESTED`` (incremented by
  ``readings.services.readings_ingest`` when its transaction commits) and
  ``REQUEST_LATENCY`` (``diabetes_center.middleware.RequestLatencyMiddleware``);
- **read at scrape time** from the database by collectors that apps register here with
  ``register_collector`` (this low module imports no app): the outbox registers the backlog,
  the alert-evaluation lag and the heartbeats (``outbox.metrics``); the monitoring app
  registers its alerts opened and escalations the same way, e.g.::

      from prometheus_client.core import CounterMetricFamily

      class AlertCollector:
          def collect(self):
              opened = CounterMetricFamily(
                  "diabetes_alerts_opened", "Alerts opened", labels=["kind"]
              )
              for kind, n in Alert.objects.values_list("kind").annotate(Count("pk")):
                  opened.add_metric([kind], n)
              yield opened

      # in MonitoringConfig.ready():
      metrics.register_collector(AlertCollector())

**Several processes.** Live figures are kept per process. Under gunicorn with several
workers, and to count what Celery workers ingest (device files), set
``PROMETHEUS_MULTIPROC_DIR`` to an empty folder (wiped at each start) in the environment of
the web *and* the worker processes of a host: prometheus-client's multiprocess mode then
writes each process's figures there and ``/metrics`` adds them up. ``scripts/run`` does so
(``var/prometheus``). Without it, ``/metrics`` shows the answering process's own figures
(right for a single web process).
"""

from __future__ import annotations

import logging
import os

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)

logger = logging.getLogger(__name__)

READINGS_INGESTED = Counter(
    "diabetes_readings_ingested",
    "Glucose readings stored (duplicates and rejected rows not counted), by path: "
    "'file' for device files, 'live' for uploader apps, the REST API and Nightscout.",
    ["source"],
)
REQUEST_LATENCY = Histogram(
    "diabetes_http_request_duration_seconds",
    "Time to answer an HTTP request, by URL pattern (never the path itself: no ids).",
    ["method", "route", "status"],
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)


def multiprocess_dir() -> str:
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR", "")


_collectors: dict[str, object] = {}


def register_collector(collector) -> None:
    """Add a collector (an object with ``collect()`` yielding metric families) read at every
    scrape. One per class: registering a second of the same class replaces the first."""
    key = f"{type(collector).__module__}.{type(collector).__qualname__}"
    _collectors[key] = collector


class _ThisProcess:
    """This process's live figures (single-process mode)."""

    def collect(self):
        return REGISTRY.collect()


class _Guarded:
    """A scrape-time collector whose failure (the database away) drops its own figures
    only, not the whole scrape."""

    def __init__(self, collector):
        self.collector = collector

    def collect(self):
        try:
            return list(self.collector.collect())
        except Exception:  # noqa: BLE001
            logger.warning("metrics: collector %r failed", self.collector, exc_info=True)
            return []


def exposition() -> tuple[bytes, str]:
    """The text ``/metrics`` answers, and its content type."""
    registry = CollectorRegistry()
    if multiprocess_dir():
        multiprocess.MultiProcessCollector(registry)
    else:
        registry.register(_ThisProcess())
    for collector in _collectors.values():
        registry.register(_Guarded(collector))
    return generate_latest(registry), CONTENT_TYPE_LATEST
