"""The workspace's tables, moved from ``patients`` (issue #22): created in Django's state
only; the tables, indexes and constraints are those ``patients`` made (``db_table``)."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        ('patients', '0009_triage_moves_to_workspace'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
        migrations.CreateModel(
            name='TriageReview',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('at', models.DateTimeField(auto_now_add=True, db_index=True)),
                ('note', models.TextField(blank=True)),
                ('by', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL)),
                ('patient', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='reviews', to='patients.patient')),
            ],
            options={
                'db_table': 'patients_triagereview',
                'ordering': ['-at'],
            },
        ),
        migrations.CreateModel(
            name='MonthlySummary',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('month', models.DateField(help_text='The first day of the month.')),
                ('readings', models.IntegerField()),
                ('in_range_percent', models.FloatField()),
                ('below_70_percent', models.FloatField()),
                ('very_low_percent', models.FloatField()),
                ('above_180_percent', models.FloatField()),
                ('very_high_percent', models.FloatField()),
                ('cv_percent', models.FloatField(null=True)),
                ('patient', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='+', to='patients.patient')),
            ],
            options={
                'db_table': 'patients_monthlysummary',
                'indexes': [models.Index(fields=['month', 'patient'], name='monthly_summary_month')],
                'constraints': [models.UniqueConstraint(fields=('patient', 'month'), name='monthly_summary_unique')],
            },
        ),
        migrations.CreateModel(
            name='TriageEntry',
            fields=[
                ('patient', models.OneToOneField(on_delete=django.db.models.deletion.CASCADE, primary_key=True, related_name='triage', serialize=False, to='patients.patient')),
                ('computed_at', models.DateTimeField()),
                ('computed_for', models.DateField(help_text="The patient's local date the window ends on.")),
                ('mode', models.CharField(default='none', max_length=8)),
                ('range_low', models.FloatField(default=70)),
                ('range_high', models.FloatField(default=180)),
                ('readings', models.IntegerField(default=0)),
                ('active_percent', models.FloatField(null=True)),
                ('mean_mg_dl', models.FloatField(null=True)),
                ('cv_percent', models.FloatField(null=True)),
                ('gmi_percent', models.FloatField(null=True)),
                ('in_range_percent', models.FloatField(help_text="In the plan's target range.", null=True)),
                ('below_percent', models.FloatField(help_text="Below the plan's lower limit.", null=True)),
                ('below_70_percent', models.FloatField(null=True)),
                ('very_low_percent', models.FloatField(null=True)),
                ('above_180_percent', models.FloatField(null=True)),
                ('very_high_percent', models.FloatField(null=True)),
                ('gri', models.FloatField(null=True)),
                ('gri_zone', models.CharField(blank=True, max_length=1)),
                ('gri_hypo', models.FloatField(null=True)),
                ('gri_hyper', models.FloatField(null=True)),
                ('tir_previous', models.FloatField(null=True)),
                ('tir_change', models.FloatField(null=True)),
                ('meter_per_day', models.FloatField(null=True)),
                ('meter_mean_mg_dl', models.FloatField(null=True)),
                ('meter_below_percent', models.FloatField(null=True)),
                ('meter_very_low_percent', models.FloatField(null=True)),
                ('meter_adherence_percent', models.FloatField(null=True)),
                ('last_reading_at', models.DateTimeField(null=True)),
                ('flags', models.JSONField(default=list)),
                ('flag_list', models.CharField(default=',', max_length=300)),
                ('tier', models.SmallIntegerField(default=5)),
                ('risk_rank', models.IntegerField(default=0)),
                ('last_report_id', models.BigIntegerField(null=True)),
                ('last_report_at', models.DateTimeField(null=True)),
                ('plan_version', models.PositiveIntegerField(null=True)),
                ('plan_preset', models.CharField(blank=True, max_length=40)),
                ('plan_review_due', models.DateField(null=True)),
                ('next_visit_at', models.DateTimeField(null=True)),
                ('visit_due', models.DateField(null=True)),
                ('changed_at', models.DateTimeField(help_text='When the flags last changed or a report came.')),
                ('reviewed_at', models.DateTimeField(null=True)),
                ('review_note', models.TextField(blank=True)),
                ('reviewed', models.BooleanField(default=False, help_text='Reviewed since the last change.')),
                ('reviewed_by', models.ForeignKey(null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL)),
            ],
            options={
                'db_table': 'patients_triageentry',
                'indexes': [models.Index(fields=['risk_rank', 'patient'], name='triage_risk'), models.Index(fields=['gri', 'risk_rank'], name='triage_gri'), models.Index(fields=['in_range_percent', 'risk_rank'], name='triage_tir'), models.Index(fields=['last_reading_at', 'risk_rank'], name='triage_last_reading'), models.Index(fields=['reviewed_at', 'risk_rank'], name='triage_reviewed_at'), models.Index(fields=['tir_change', 'risk_rank'], name='triage_tir_change'), models.Index(fields=['mode', 'risk_rank'], name='triage_mode_risk'), models.Index(fields=['reviewed', 'risk_rank'], name='triage_reviewed_risk')],
            },
        ),
            ],
            database_operations=[],
        )
    ]
