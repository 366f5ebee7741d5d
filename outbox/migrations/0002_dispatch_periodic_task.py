"""Create the beat schedule "outbox: dispatch" (every minute): it sends deferred tasks that
were recorded while the broker was down, or that the broker lost."""

from django.db import migrations

from common.beat import periodic_tasks


class Migration(migrations.Migration):
    dependencies = [
        ("outbox", "0001_initial"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [
        periodic_tasks(
            {
                "name": "outbox: dispatch",
                "task": "outbox.tasks.dispatch_outbox",
                "interval": (1, "minutes"),
                "description": "Send deferred tasks recorded while the broker was away.",
            },
        )
    ]
