from django.apps import AppConfig


class OutboxConfig(AppConfig):
    name = "outbox"
    verbose_name = "Task outbox"

    def ready(self):
        from celery import signals

        from common import metrics
        from outbox import health, services

        # In the worker: a task that ran to its end (or failed for good) closes its outbox row;
        # a worker that starts re-sends what was recorded while the broker was away.
        signals.task_success.connect(services.on_task_success, dispatch_uid="outbox-success")
        signals.task_failure.connect(services.on_task_failure, dispatch_uid="outbox-failure")
        signals.worker_ready.connect(services.on_worker_ready, dispatch_uid="outbox-ready")
        # Heartbeats (outbox.health): a worker as it starts, beat as it starts and as it sends
        # the heartbeat task every minute.
        signals.worker_ready.connect(health.on_worker_ready, dispatch_uid="pipeline-worker")
        signals.beat_init.connect(health.on_beat_init, dispatch_uid="pipeline-beat-init")
        signals.before_task_publish.connect(
            health.on_before_task_publish, dispatch_uid="pipeline-beat-tick"
        )
        # /metrics: the outbox backlog, the evaluation lag and the heartbeats, read at scrape.
        from outbox.metrics import PipelineCollector

        metrics.register_collector(PipelineCollector())
