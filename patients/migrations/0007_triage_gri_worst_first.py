"""The queue sorted by GRI reads ``ORDER BY gri DESC NULLS LAST, risk_rank, patient_id LIMIT 25``
(patients.triage.ORDERINGS): an index in exactly that order lets PostgreSQL stop after a page
instead of sorting every patient (the ``triage_gri`` index runs the other way: a backward scan
gives DESC NULLS FIRST). PostgreSQL only: SQLite has no NULLS LAST in an index, and its
embedded demo sizes need none."""

from django.db import migrations

CREATE = (
    "CREATE INDEX IF NOT EXISTS triage_gri_worst ON patients_triageentry "
    "(gri DESC NULLS LAST, risk_rank, patient_id)"
)
DROP = "DROP INDEX IF EXISTS triage_gri_worst"


def create(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE)


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP)


class Migration(migrations.Migration):
    dependencies = [("patients", "0006_consent")]

    operations = [migrations.RunPython(create, drop)]
