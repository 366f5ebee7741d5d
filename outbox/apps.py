from django.apps import AppConfig


class OutboxConfig(AppConfig):
    name = "outbox"
    verbose_name = "Task outbox"

    def ready(self):
        from celery import signals

        from outbox import services

        # In the worker: a task that ran to its end (or failed for good) closes its outbox row;
        # a worker that starts re-sends what was recorded while the broker was away.
        signals.task_success.connect(services.on_task_success, dispatch_uid="outbox-success")
        signals.task_failure.connect(services.on_task_failure, dispatch_uid="outbox-failure")
        signals.worker_ready.connect(services.on_worker_ready, dispatch_uid="outbox-ready")
