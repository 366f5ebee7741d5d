"""Triage entries, monthly summaries and reviews moved to ``workspace`` (issue #22): removed
from this app's state only; their tables stay, kept by ``workspace.0001_initial``."""

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('patients', '0008_dates_in_the_calendar'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
        migrations.RemoveField(
            model_name='triageentry',
            name='patient',
        ),
        migrations.RemoveField(
            model_name='triageentry',
            name='reviewed_by',
        ),
        migrations.RemoveField(
            model_name='triagereview',
            name='by',
        ),
        migrations.RemoveField(
            model_name='triagereview',
            name='patient',
        ),
        migrations.DeleteModel(
            name='MonthlySummary',
        ),
        migrations.DeleteModel(
            name='TriageEntry',
        ),
        migrations.DeleteModel(
            name='TriageReview',
        ),
            ],
            database_operations=[],
        )
    ]
