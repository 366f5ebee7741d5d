"""Beat schedules in django-celery-beat's tables, for the data migrations that create them.

Each app's migration names its schedules; this helper writes them (``get_or_create``: running
it on a database that already has a schedule leaves the admin's changes alone) and removes
them when the migration is unapplied. Migrations import it: keep its behaviour stable and
write a new helper rather than change what an applied migration did.

    operations = [
        periodic_tasks(
            {
                "name": "outbox: dispatch",
                "task": "outbox.tasks.dispatch_outbox",
                "interval": (1, "minutes"),
                "description": "Send deferred tasks recorded while the broker was away.",
            }
        )
    ]

A schedule has either ``interval`` (every, period) or ``crontab`` (CrontabSchedule fields).
"""

import json

from django.db import migrations


def periodic_tasks(*schedules: dict) -> migrations.RunPython:
    """A ``RunPython`` that creates these beat schedules (and deletes them when unapplied)."""

    def create(apps, schema_editor):
        IntervalSchedule = apps.get_model("django_celery_beat", "IntervalSchedule")
        CrontabSchedule = apps.get_model("django_celery_beat", "CrontabSchedule")
        PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
        for schedule in schedules:
            if "interval" in schedule:
                every, period = schedule["interval"]
                when, _ = IntervalSchedule.objects.get_or_create(every=every, period=period)
                timing = {"interval": when}
            else:
                when, _ = CrontabSchedule.objects.get_or_create(**schedule["crontab"])
                timing = {"crontab": when}
            PeriodicTask.objects.get_or_create(
                name=schedule["name"],
                defaults={
                    "task": schedule["task"],
                    **timing,
                    "args": json.dumps([]),
                    "kwargs": json.dumps({}),
                    "enabled": True,
                    "description": schedule["description"],
                },
            )

    def remove(apps, schema_editor):
        apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(
            name__in=[schedule["name"] for schedule in schedules]
        ).delete()

    return migrations.RunPython(create, remove)
