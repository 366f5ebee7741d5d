"""Monitoring's part in watching the pipeline (issue #20 §5), plugged into the hooks the
lower floors offer, so neither ``outbox`` nor ``common`` knows about monitoring:

- whoever is on call now is told, besides the admins, when alerting is degraded
  (``outbox.health.register_notice_recipients``);
- ``/metrics`` gains the alerts opened (live, by kind), the open alerts and the escalations,
  read from the database at scrape time (``common.metrics.register_collector``).
"""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.db.models import Count
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

from monitoring.models import Alert, AlertNotification, OnCallShift


def on_call_now(now):
    """The clinicians on call at ``now``, in any center (active accounts only)."""
    ids = OnCallShift.objects.filter(start__lte=now, end__gt=now).values("clinician_id")
    return get_user_model().objects.filter(pk__in=ids, is_active=True)


class AlertsCollector:
    """Alert figures for Prometheus, counted from the alert tables at each scrape."""

    def collect(self):
        opened = CounterMetricFamily(
            "diabetes_alerts_opened", "Live alerts raised, by kind.", labels=["kind"]
        )
        for row in Alert.objects.filter(live=True).values("kind").annotate(n=Count("pk")):
            opened.add_metric([row["kind"]], row["n"])
        yield opened
        current = GaugeMetricFamily(
            "diabetes_alerts_open", "Alerts open or escalated now, by kind.", labels=["kind"]
        )
        states = ("open", "escalated")
        for row in (
            Alert.objects.filter(live=True, state__in=states).values("kind").annotate(n=Count("pk"))
        ):
            current.add_metric([row["kind"]], row["n"])
        yield current
        escalations = CounterMetricFamily(
            "diabetes_alert_escalations", "Notifications sent past the first step (escalations)."
        )
        escalations.add_metric([], AlertNotification.objects.filter(step__gt=0).count())
        yield escalations
