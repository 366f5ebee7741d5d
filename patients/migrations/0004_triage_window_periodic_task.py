"""Create the beat schedule "patients: triage window" (hourly) in django-celery-beat's tables."""

from django.db import migrations

from common.beat import periodic_tasks


class Migration(migrations.Migration):
    dependencies = [
        ("patients", "0003_triage"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [
        periodic_tasks(
            {
                "name": "patients: triage window",
                "task": "patients.tasks.refresh_triage_window",
                "interval": (1, "hours"),
                "description": "Move each patient's 14-day triage window at their local midnight.",
            },
        )
    ]
