"""Consent records (what, which wording, given or withdrawn, when, by whom) replace the
single ``Patient.consent_given_at`` date, which is carried over as a "care" consent."""

import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models

OLD_VERSION = "before-2026-11"
OLD_TEXT = "Consent recorded before its wording was versioned (only the date was kept)."


def keep_old_consents(apps, schema_editor):
    """Patient.consent_given_at becomes a "care" Consent row, so no recorded consent is lost."""
    Patient = apps.get_model("patients", "Patient")
    Consent = apps.get_model("patients", "Consent")
    Consent.objects.bulk_create(
        Consent(patient_id=pk, topic="care", version=OLD_VERSION, text=OLD_TEXT, given=True, at=at)
        for pk, at in Patient.objects.exclude(consent_given_at=None).values_list(
            "pk", "consent_given_at"
        )
    )


class Migration(migrations.Migration):
    dependencies = [
        ("patients", "0005_triage_indexes_monthly_summary"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="Consent",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "topic",
                    models.CharField(
                        choices=[
                            ("care", "Processing my health data for my care"),
                            (
                                "follower_apps",
                                "Sharing my glucose data with follower apps I choose",
                            ),
                        ],
                        max_length=20,
                        verbose_name="what",
                    ),
                ),
                ("version", models.CharField(max_length=20, verbose_name="version of the wording")),
                ("text", models.TextField(verbose_name="wording agreed to")),
                ("given", models.BooleanField(help_text="False: withdrawn.", verbose_name="given")),
                (
                    "at",
                    models.DateTimeField(
                        db_index=True, default=django.utils.timezone.now, verbose_name="when"
                    ),
                ),
                ("by_name", models.CharField(blank=True, max_length=150, verbose_name="by")),
                (
                    "by",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                (
                    "patient",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="consents",
                        to="patients.patient",
                    ),
                ),
            ],
            options={
                "verbose_name": "consent",
                "ordering": ["-at", "-pk"],
                "indexes": [
                    models.Index(fields=["patient", "topic", "-at"], name="consent_latest")
                ],
            },
        ),
        migrations.RunPython(keep_old_consents, migrations.RunPython.noop),
        migrations.RemoveField(
            model_name="patient",
            name="consent_given_at",
        ),
    ]
