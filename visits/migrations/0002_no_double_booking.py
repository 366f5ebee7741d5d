"""No double booking, enforced by the database (see visits.models).

PostgreSQL: btree_gist exclusion constraints over tstzrange(start_at, end_at, '[)') per
clinician, patient and room for visits that are not cancelled. Two concurrent transactions
booking the same slot: the second waits for the first and then fails.

SQLite: BEFORE INSERT/UPDATE triggers that abort with the constraint's name when an active
visit overlaps. SQLite has one writer at a time and the project opens write transactions
IMMEDIATE, so the trigger's check and the write cannot interleave with another booking.
"""

from django.contrib.postgres.operations import BtreeGistExtension
from django.db import migrations

COLUMNS = {
    "visit_no_overlap_clinician": "clinician_id",
    "visit_no_overlap_patient": "patient_id",
    "visit_no_overlap_room": "room_id",
}
ACTIVE = "status <> 'cancelled'"


def create(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    for name, column in COLUMNS.items():
        if vendor == "postgresql":
            schema_editor.execute(
                f"ALTER TABLE visits_visit ADD CONSTRAINT {name} EXCLUDE USING gist "
                f"({column} WITH =, tstzrange(start_at, end_at, '[)') WITH &&) WHERE ({ACTIVE})"
            )
        elif vendor == "sqlite":
            for event, extra in (("INSERT", ""), ("UPDATE", "AND v.id <> NEW.id")):
                schema_editor.execute(
                    f"""CREATE TRIGGER {name}_{event.lower()} BEFORE {event} ON visits_visit
                    FOR EACH ROW WHEN NEW.{ACTIVE} AND NEW.{column} IS NOT NULL
                    BEGIN
                      SELECT RAISE(ABORT, 'conflicting key value violates exclusion constraint "{name}"')
                      WHERE EXISTS (
                        SELECT 1 FROM visits_visit v
                        WHERE v.{column} = NEW.{column} AND v.{ACTIVE} {extra}
                          AND julianday(v.start_at) < julianday(NEW.end_at)
                          AND julianday(NEW.start_at) < julianday(v.end_at)
                      );
                    END"""
                )
        else:
            raise NotImplementedError(f"No double-booking rule for {vendor}")


def remove(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    for name in COLUMNS:
        if vendor == "postgresql":
            schema_editor.execute(f"ALTER TABLE visits_visit DROP CONSTRAINT {name}")
        elif vendor == "sqlite":
            for event in ("insert", "update"):
                schema_editor.execute(f"DROP TRIGGER {name}_{event}")


class Migration(migrations.Migration):
    dependencies = [("visits", "0001_initial")]

    operations = [BtreeGistExtension(), migrations.RunPython(create, remove)]
