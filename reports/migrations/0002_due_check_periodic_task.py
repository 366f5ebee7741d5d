"""Create the beat schedule "reports: due check" (hourly) in django-celery-beat's tables, so
the DatabaseScheduler runs it and admins can see or change it in the admin."""

from django.db import migrations

from common.beat import periodic_tasks


class Migration(migrations.Migration):
    dependencies = [
        ("reports", "0001_initial"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [
        periodic_tasks(
            {
                "name": "reports: due check",
                "task": "reports.tasks.enqueue_due_reports",
                "interval": (1, "hours"),
                "description": "Enqueue a health report for every patient whose report is due.",
            },
        )
    ]
