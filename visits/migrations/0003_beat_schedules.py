"""Beat schedules in django-celery-beat's tables (admins see and change them in the admin):
"visits: reminders" every 10 minutes and "visits: clinicians' day lists" daily at 16:00 UTC."""

from django.db import migrations

from common.beat import periodic_tasks


class Migration(migrations.Migration):
    dependencies = [
        ("visits", "0002_no_double_booking"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [
        periodic_tasks(
            {
                "name": "visits: reminders",
                "task": "visits.tasks.enqueue_visit_reminders",
                "interval": (10, "minutes"),
                "description": "Remind patients of visits within VISIT_REMINDER_HOURS.",
            },
            {
                "name": "visits: clinicians' day lists",
                "task": "visits.tasks.send_clinician_day_lists",
                "crontab": {
                    "minute": "0",
                    "hour": "16",
                    "day_of_week": "*",
                    "day_of_month": "*",
                    "month_of_year": "*",
                    "timezone": "UTC",
                },
                "description": "E-mail each clinician the list of tomorrow's visits.",
            },
        )
    ]
