"""The Celery application.

Tasks live in each app's ``tasks.py`` and take primary keys, never model instances.
The broker comes from ``CELERY_BROKER_URL``; the embedded default is kombu's filesystem
transport, so a real worker and beat run the same code path as production without any server.
"""

import os

from celery import Celery, signals

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "diabetes_center.settings")

app = Celery("diabetes_center")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@signals.task_prerun.connect(dispatch_uid="django-connections-before-task")
@signals.task_postrun.connect(dispatch_uid="django-connections-after-task")
def connections_at_task_edges(sender=None, **kwargs) -> None:
    """A task starts and ends like a web request: Django closes the database connections that
    are past ``CONN_MAX_AGE``, broken, or left in a transaction, and health-checks a kept one
    before its first query (``DATABASE_CONN_HEALTH_CHECKS``). Kept connections save every
    task a new PostgreSQL connection (settings ``CELERY_DB_REUSE_MAX``). An eager task runs
    inside its caller, whose connection is not the task's to close."""
    if getattr(getattr(sender, "request", None), "is_eager", False):
        return
    from django.db import close_old_connections as close

    close()


@signals.worker_init.connect(dispatch_uid="freeze-loaded-objects")
def freeze_at_worker_start(sender=None, **kwargs) -> None:
    """Freeze what the worker has loaded (its task modules included) before the pool forks:
    the pool's processes inherit it, and their full collections skip it
    (`diabetes_center.startup`)."""
    from diabetes_center.startup import freeze_loaded_objects

    freeze_loaded_objects()
