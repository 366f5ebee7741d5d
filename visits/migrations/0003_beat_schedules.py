"""Beat schedules in django-celery-beat's tables (admins see and change them in the admin):
"visits: reminders" every 10 minutes and "visits: clinicians' day lists" daily at 16:00 UTC."""

import json

from django.db import migrations

REMINDERS = "visits: reminders"
DAY_LISTS = "visits: clinicians' day lists"


def create(apps, schema_editor):
    IntervalSchedule = apps.get_model("django_celery_beat", "IntervalSchedule")
    CrontabSchedule = apps.get_model("django_celery_beat", "CrontabSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    every_10, _ = IntervalSchedule.objects.get_or_create(every=10, period="minutes")
    afternoon, _ = CrontabSchedule.objects.get_or_create(
        minute="0", hour="16", day_of_week="*", day_of_month="*", month_of_year="*", timezone="UTC"
    )
    PeriodicTask.objects.get_or_create(
        name=REMINDERS,
        defaults={
            "task": "visits.tasks.enqueue_visit_reminders",
            "interval": every_10,
            "args": json.dumps([]),
            "kwargs": json.dumps({}),
            "description": "Remind patients of visits within VISIT_REMINDER_HOURS.",
        },
    )
    PeriodicTask.objects.get_or_create(
        name=DAY_LISTS,
        defaults={
            "task": "visits.tasks.send_clinician_day_lists",
            "crontab": afternoon,
            "args": json.dumps([]),
            "kwargs": json.dumps({}),
            "description": "E-mail each clinician the list of tomorrow's visits.",
        },
    )


def remove(apps, schema_editor):
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(
        name__in=[REMINDERS, DAY_LISTS]
    ).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("visits", "0002_no_double_booking"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(create, remove)]
