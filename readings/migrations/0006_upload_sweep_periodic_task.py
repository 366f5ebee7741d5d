"""Create the beat schedule "readings: upload sweep" (every 5 minutes) in django-celery-beat's
tables: it re-queues or fails uploads whose worker died, and drops old failed files."""

import json

from django.db import migrations

TASK_NAME = "readings: upload sweep"


def create(apps, schema_editor):
    IntervalSchedule = apps.get_model("django_celery_beat", "IntervalSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    every_5_minutes, _ = IntervalSchedule.objects.get_or_create(every=5, period="minutes")
    PeriodicTask.objects.get_or_create(
        name=TASK_NAME,
        defaults={
            "task": "readings.tasks.sweep_uploads",
            "interval": every_5_minutes,
            "args": json.dumps([]),
            "kwargs": json.dumps({}),
            "enabled": True,
            "description": "Re-queue or fail uploads whose worker died; delete old failed files.",
        },
    )


def remove(apps, schema_editor):
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(name=TASK_NAME).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("readings", "0005_reading_one_per_instant_upload_progress"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(create, remove)]
