"""What prompted a plan version becomes one generic link (issue #22 §5).

``responds_to_report_id`` (a plain integer naming a ``reports.Report``) becomes
``prompted_by_type`` + ``prompted_by_id`` through Django's contenttypes, so a suggestion or a
consultation can prompt a version too without ``care_plans`` importing their apps. Existing
links are copied (and copied back on reverse); no row loses its report.
"""

import django.db.models.deletion
from django.db import migrations, models
from django.db.models import Q


def _report_type(apps, schema_editor):
    content_type = apps.get_model("contenttypes", "ContentType")
    manager = content_type.objects.db_manager(schema_editor.connection.alias)
    return manager.get_or_create(app_label="reports", model="report")[0]


def forwards(apps, schema_editor):
    version = apps.get_model("care_plans", "CarePlanVersion")
    rows = version.objects.using(schema_editor.connection.alias).filter(
        responds_to_report_id__isnull=False
    )
    if rows.exists():
        rows.update(prompted_by_type=_report_type(apps, schema_editor), prompted_by_id=models.F("responds_to_report_id"))


def backwards(apps, schema_editor):
    version = apps.get_model("care_plans", "CarePlanVersion")
    version.objects.using(schema_editor.connection.alias).filter(
        prompted_by_type=_report_type(apps, schema_editor)
    ).update(responds_to_report_id=models.F("prompted_by_id"))


class Migration(migrations.Migration):
    dependencies = [
        ("care_plans", "0001_initial"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [
        migrations.AddField(
            model_name="careplanversion",
            name="prompted_by_type",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to="contenttypes.contenttype",
                verbose_name="prompted by (kind)",
            ),
        ),
        migrations.AddField(
            model_name="careplanversion",
            name="prompted_by_id",
            field=models.PositiveBigIntegerField(
                blank=True, null=True, verbose_name="prompted by (id)"
            ),
        ),
        migrations.RunPython(forwards, backwards),
        migrations.RemoveField(model_name="careplanversion", name="responds_to_report_id"),
        migrations.AddConstraint(
            model_name="careplanversion",
            constraint=models.CheckConstraint(
                condition=Q(prompted_by_type__isnull=True, prompted_by_id__isnull=True)
                | Q(prompted_by_type__isnull=False, prompted_by_id__isnull=False),
                name="care_plan_version_prompt_whole",
            ),
        ),
        migrations.AddIndex(
            model_name="careplanversion",
            index=models.Index(
                fields=["prompted_by_type", "prompted_by_id"], name="care_plan_version_prompt"
            ),
        ),
    ]
