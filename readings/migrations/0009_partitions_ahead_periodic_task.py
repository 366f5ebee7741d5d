"""Create the beat schedule "readings: partitions ahead" (daily, 03:17 UTC): the readings
table's monthly partitions for the current month and READINGS_PARTITION_MONTHS_AHEAD after it,
and for months waiting in the DEFAULT partition (PostgreSQL; the task does nothing on SQLite)."""

from django.db import migrations

from common.beat import periodic_tasks


class Migration(migrations.Migration):
    dependencies = [
        ("readings", "0008_reading_partitioned_by_month"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [
        periodic_tasks(
            {
                "name": "readings: partitions ahead",
                "task": "readings.tasks.ensure_reading_partitions",
                "crontab": {
                    "minute": "17",
                    "hour": "3",
                    "day_of_week": "*",
                    "day_of_month": "*",
                    "month_of_year": "*",
                    "timezone": "UTC",
                },
                "description": "Create the readings table's monthly partitions ahead "
                "(PostgreSQL); move rows out of its DEFAULT partition.",
            },
        )
    ]
