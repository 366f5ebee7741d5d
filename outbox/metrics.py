"""The pipeline's figures for ``/metrics``, read from the database at each scrape
(registered with ``common.metrics.register_collector`` by ``OutboxConfig.ready``)."""

from __future__ import annotations

from prometheus_client.core import GaugeMetricFamily

from outbox import pipeline
from outbox.health import alerting_degraded, observe


class PipelineCollector:
    def collect(self):
        obs, _ = observe(check_broker=False)
        yield GaugeMetricFamily(
            "diabetes_database_up",
            "1 when the database answered the scrape",
            value=int(obs.database_ok),
        )
        if not obs.database_ok:
            return
        yield GaugeMetricFamily(
            "diabetes_outbox_backlog",
            "Deferred tasks recorded in the outbox and not yet done (given-up rows excluded)",
            value=obs.backlog_count,
        )
        oldest = pipeline.age(obs.now, obs.backlog_oldest_at)
        yield GaugeMetricFamily(
            "diabetes_outbox_oldest_age_seconds",
            "Age of the oldest open outbox row (0 when none)",
            value=oldest.total_seconds() if oldest else 0.0,
        )
        yield GaugeMetricFamily(
            "diabetes_alert_evaluation_lag_seconds",
            f"Age of the oldest unfinished alert evaluation ({pipeline.EVALUATION_TASK}); "
            "0 when none waits",
            value=pipeline.evaluation_lag(obs).total_seconds(),
        )
        yield GaugeMetricFamily(
            "diabetes_alert_evaluations_pending",
            "Alert evaluations recorded and not yet done",
            value=obs.evaluation_pending,
        )
        beats = GaugeMetricFamily(
            "diabetes_heartbeat_age_seconds",
            "Seconds since the worker ran the heartbeat task / beat sent it (+Inf: never)",
            labels=["name"],
        )
        for name, at in ((pipeline.WORKER, obs.worker_beat_at), (pipeline.BEAT, obs.beat_tick_at)):
            seen = pipeline.age(obs.now, at)
            beats.add_metric([name], float("inf") if seen is None else seen.total_seconds())
        yield beats
        yield GaugeMetricFamily(
            "diabetes_alerting_degraded",
            "1 while a degraded-alerting incident is open",
            value=int(alerting_degraded()),
        )
