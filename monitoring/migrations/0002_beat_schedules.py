"""Beat schedules (issue #20): "monitoring: tick" every minute (deliver alerts that waited for
the clinic to open, escalate unacknowledged ones) and "monitoring: silences" every 5 minutes
(open no-data alerts for enrolled patients whose readings stopped)."""

from django.db import migrations

from common.beat import periodic_tasks


class Migration(migrations.Migration):
    dependencies = [
        ("monitoring", "0001_alerts_enrolment_rota"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [
        periodic_tasks(
            {
                "name": "monitoring: tick",
                "task": "monitoring.tasks.alerts_tick",
                "interval": (1, "minutes"),
                "description": "Deliver alerts whose wait is over; escalate unacknowledged ones.",
            },
            {
                "name": "monitoring: silences",
                "task": "monitoring.tasks.check_silences",
                "interval": (5, "minutes"),
                "description": "Open no-data alerts for enrolled patients whose readings stopped.",
            },
        )
    ]
