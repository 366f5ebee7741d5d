"""The Celery application.

Tasks live in each app's ``tasks.py`` and take primary keys, never model instances.
The broker comes from ``CELERY_BROKER_URL``; the embedded default is kombu's filesystem
transport, so a real worker and beat run the same code path as production without any server.
"""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "diabetes_center.settings")

app = Celery("diabetes_center")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
