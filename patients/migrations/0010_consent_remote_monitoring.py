"""A consent topic for remote monitoring (issue #20 §1): its wording is in patients/consent.py."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("patients", "0009_triage_moves_to_workspace"),
    ]

    operations = [
        migrations.AlterField(
            model_name="consent",
            name="topic",
            field=models.CharField(
                choices=[
                    ("care", "Processing my health data for my care"),
                    ("follower_apps", "Sharing my glucose data with follower apps I choose"),
                    ("remote_monitoring", "Remote monitoring of my glucose by my clinic"),
                ],
                max_length=20,
                verbose_name="what",
            ),
        ),
    ]
