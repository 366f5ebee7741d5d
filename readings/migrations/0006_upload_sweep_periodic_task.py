"""Create the beat schedule "readings: upload sweep" (every 5 minutes) in django-celery-beat's
tables: it re-queues or fails uploads whose worker died, and drops old failed files."""

from django.db import migrations

from common.beat import periodic_tasks


class Migration(migrations.Migration):
    dependencies = [
        ("readings", "0005_reading_one_per_instant_upload_progress"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [
        periodic_tasks(
            {
                "name": "readings: upload sweep",
                "task": "readings.tasks.sweep_uploads",
                "interval": (5, "minutes"),
                "description": "Re-queue or fail uploads whose worker died; delete old failed files.",
            },
        )
    ]
