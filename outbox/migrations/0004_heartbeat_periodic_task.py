"""Create the beat schedule "outbox: heartbeat" (every minute): beat records its tick as it
sends the task, the worker that runs it records the worker's heartbeat, and both feed
``GET /health/`` and the degraded-alerting watch (issue #20 §5)."""

from django.db import migrations

from common.beat import periodic_tasks


class Migration(migrations.Migration):
    dependencies = [
        ("outbox", "0003_heartbeat_and_incident"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [
        periodic_tasks(
            {
                "name": "outbox: heartbeat",
                "task": "outbox.tasks.heartbeat",
                "interval": (1, "minutes"),
                "description": (
                    "Show that beat and a worker are alive; tell the admins once when "
                    "alerting is degraded."
                ),
            },
        )
    ]
