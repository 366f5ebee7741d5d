"""The Celery application.

Tasks live in each app's ``tasks.py`` and take primary keys, never model instances.
The broker comes from ``CELERY_BROKER_URL``; the embedded default is kombu's filesystem
transport, so a real worker and beat run the same code path as production without any server.
"""

import os

from celery import Celery
from celery.signals import task_postrun, task_prerun

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "diabetes_center.settings")

app = Celery("diabetes_center")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

# Database connections across tasks. Celery's Django fixup closes every connection before and
# after each task, so each task paid a new PostgreSQL connection (a backend process, the
# authentication, cold catalog caches for its first queries). A CELERY_DB_REUSE_MAX no worker
# reaches turns that off, and the two receivers below do what Django does around each web
# request instead (``close_old_connections``): a connection that raised an error or outlived
# CONN_MAX_AGE is closed, and a kept one is health-checked before its first query
# (DATABASE_CONN_HEALTH_CHECKS), so a restarted or failed-over server is reconnected to as
# before. SQLite (CONN_MAX_AGE 0) still closes after every task. Eager tasks run inside the
# caller's transaction and are left alone, as the fixup leaves them.
app.conf.CELERY_DB_REUSE_MAX = 2**62


def _reuse_database_connections(sender=None, **kwargs) -> None:
    if getattr(getattr(sender, "request", None), "is_eager", False):
        return
    from django.db import close_old_connections

    close_old_connections()


task_prerun.connect(_reuse_database_connections, dispatch_uid="dc-db-connections-prerun")
task_postrun.connect(_reuse_database_connections, dispatch_uid="dc-db-connections-postrun")
