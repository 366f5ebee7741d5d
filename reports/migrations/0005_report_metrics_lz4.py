"""A report's metrics (about 25 kB of JSON: the daily profile, daily and hourly rows) are
stored compressed with lz4 instead of PostgreSQL's default pglz: compressing them was about
half of the report INSERT's time on the server, 0.5 ms of every report (#23). lz4 decompresses
faster too. Only how new values are stored changes (rows written before keep pglz, both read
the same); PostgreSQL 14+ built with lz4 (the server says so), else nothing is done. SQLite:
nothing to do."""

from django.db import migrations

COLUMNS = ("metrics",)


def _lz4_available(connection) -> bool:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT coalesce(bool_or('lz4' = ANY(enumvals)), false) FROM pg_settings"
            " WHERE name = 'default_toast_compression'"
        )
        return cursor.fetchone()[0]


def _set(schema_editor, method: str) -> None:
    connection = schema_editor.connection
    if connection.vendor != "postgresql" or not _lz4_available(connection):
        return
    for column in COLUMNS:
        schema_editor.execute(
            f"ALTER TABLE reports_report ALTER COLUMN {column} SET COMPRESSION {method}"
        )


def to_lz4(apps, schema_editor):
    _set(schema_editor, "lz4")


def to_default(apps, schema_editor):
    _set(schema_editor, "default")


class Migration(migrations.Migration):
    dependencies = [("reports", "0004_plan_suggestions")]

    operations = [migrations.RunPython(to_lz4, to_default, elidable=False)]
