"""Readings partitioned by month on PostgreSQL (issue #23 §4); nothing changes on SQLite.

``readings_reading`` becomes a declaratively partitioned table, ``PARTITION BY RANGE
("timestamp")``, one partition per calendar month in UTC named ``readings_reading_pYYYY_MM``
(``[first instant of the month, first instant of the next)``), plus ``readings_reading_default``
for readings in any month without a partition of its own. Django's model is unchanged: ``id``
stays its primary key; in the database the primary key is ``(id, "timestamp")`` because a
partitioned table's unique keys must contain the partition key. ``reading_unique_instant``
``(patient_id, kind, "timestamp")`` already does, so one reading per patient, kind and instant
is still the database's rule and the importer's ``ON CONFLICT (patient_id, kind, timestamp)``
still finds its arbiter. Nothing has a foreign key to ``readings_reading`` (``upload`` is
``db_constraint=False`` the other way round), so the table can be swapped.

The conversion, in the migration's one transaction under an ACCESS EXCLUSIVE lock:

1. note the identity sequence's next value and every constraint and index on the table;
2. rename the table aside, drop its constraints, indexes and identity (the names are reused);
3. create the partitioned parent with the same columns (``LIKE``) and the identity again, under
   the same sequence name, starting where the old one stopped — new ids continue;
4. create a partition for every month that holds readings, for the current month and the next
   ``MONTHS_AHEAD``, and the DEFAULT partition;
5. copy the rows (ids kept), then build the primary key, the unique and check constraints, the
   indexes and the foreign keys again from their definitions (a partitioned index on the parent
   and one per partition), and drop the old table.

The copy rewrites the table once, during which readings can be neither read nor written:
1.88 million readings took 51 s on a shared 2-core machine at load 10 (about 37,000 a second
with every index; ``docs/scaling.md``), so a table of hundreds of millions needs a planned
window. ``docs/scaling.md`` describes the alternative for a table too big for that window.

Why a DEFAULT partition: an insert must never fail because its month has no partition yet (a
late upload of a two-year-old file, a device clock in the past or the future, a forgotten beat
schedule). Rows without a month of their own wait there; creating their month's partition
later moves them out (see ``readings_reading_add_month`` below). The cost: while it holds rows
of a month, creating that month scans it, so it should stay small — the beat task creates months
ahead, and ``manage.py reading_partitions`` lists how many rows wait in it.

``readings_reading_add_month(date)`` is a SECURITY DEFINER function owned by the migrating
owner: the app role that runs the beat task owns no table and may create none (accounts
``db_roles``), and only the parent's owner may add a partition. It creates the month's
partition if no relation of that name exists (so it is idempotent, and never recreates a month
detached for archive), moving any rows of that month out of the DEFAULT partition first.

Reverse: the same steps the other way (one plain table, primary key ``id``), keeping ids, the
sequence and every constraint; partitions detached for archive are left as they are.
"""

import datetime as dt

from django.db import migrations

TABLE = "readings_reading"
DEFAULT = "readings_reading_default"
FUNCTION = "readings_reading_add_month"
MONTHS_AHEAD = 3  # partitions created beyond the current month (the beat task keeps this up)

# EXECUTE stays granted to PUBLIC (PostgreSQL's default): whoever may connect may ask for a
# month's partition, which is all the function can do.
ADD_MONTH = """
CREATE FUNCTION {function}(first_day date) RETURNS boolean
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = {schema}, pg_catalog
SET lock_timeout = '10s'
AS $fn$
DECLARE
    month date := date_trunc('month', first_day)::date;
    name text := '{table}_p' || to_char(month, 'YYYY_MM');
    low text := to_char(month, 'YYYY-MM-DD') || ' 00:00:00+00';
    high text := to_char(month + interval '1 month', 'YYYY-MM-DD') || ' 00:00:00+00';
BEGIN
    -- One creator at a time; inserts go on (ATTACH takes SHARE UPDATE EXCLUSIVE on the parent).
    PERFORM pg_advisory_xact_lock(hashtext('{table} partitions'));
    IF to_regclass(quote_ident(name)) IS NOT NULL THEN
        RETURN false;  -- there already (or detached for archive under that name)
    END IF;
    EXECUTE format('CREATE TABLE %I (LIKE {table} INCLUDING DEFAULTS INCLUDING CONSTRAINTS '
                   'INCLUDING STORAGE)', name);
    IF to_regclass('{default}') IS NOT NULL THEN
        -- Rows of this month that waited in the DEFAULT partition move in first; the lock
        -- keeps new ones from arriving there until the partition is attached.
        LOCK TABLE {default} IN ACCESS EXCLUSIVE MODE;
        EXECUTE format('WITH moved AS (DELETE FROM {default} WHERE "timestamp" >= %L '
                       'AND "timestamp" < %L RETURNING *) INSERT INTO %I SELECT * FROM moved',
                       low, high, name);
    END IF;
    -- A matching CHECK lets ATTACH skip scanning the new table.
    EXECUTE format('ALTER TABLE %I ADD CONSTRAINT %I CHECK ("timestamp" >= %L AND '
                   '"timestamp" < %L)', name, name || '_bound', low, high);
    EXECUTE format('ALTER TABLE {table} ATTACH PARTITION %I FOR VALUES FROM (%L) TO (%L)',
                   name, low, high);
    EXECUTE format('ALTER TABLE %I DROP CONSTRAINT %I', name, name || '_bound');
    RETURN true;
END
$fn$
"""


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _shape(cursor, table: str) -> dict:
    """What the conversion must carry over: the identity's sequence and next value, the
    constraints (the primary key among them) and the indexes that back no constraint."""
    cursor.execute("SELECT pg_get_serial_sequence(%s, 'id')", [table])
    (sequence,) = cursor.fetchone()
    cursor.execute(f"SELECT last_value, is_called FROM {sequence}")
    last, called = cursor.fetchone()
    cursor.execute(f"SELECT coalesce(max(id), 0) + 1 FROM {table}")
    (after_max,) = cursor.fetchone()
    cursor.execute(
        "SELECT conname, contype, pg_get_constraintdef(oid) FROM pg_constraint "
        "WHERE conrelid = %s::regclass AND conparentid = 0 ORDER BY contype, conname",
        [table],
    )
    constraints = cursor.fetchall()
    cursor.execute(
        "SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid) FROM pg_index i "
        "WHERE i.indrelid = %s::regclass AND NOT EXISTS "
        "(SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid "
        "AND c.conrelid = i.indrelid) ORDER BY 1",
        [table],
    )
    indexes = cursor.fetchall()
    cursor.execute(
        "SELECT n.nspname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE c.oid = %s::regclass",
        [table],
    )
    (schema,) = cursor.fetchone()
    return {
        "sequence": sequence.split(".")[-1].strip('"'),
        "start": max(last + 1 if called else last, after_max),
        "constraints": constraints,
        "indexes": indexes,
        "schema": schema,
    }


def _set_aside(cursor, table: str, aside: str, shape: dict) -> None:
    """Rename ``table`` to ``aside`` and free every name the new table will reuse."""
    cursor.execute(f"ALTER TABLE {table} RENAME TO {aside}")
    for name, _kind, _definition in shape["constraints"]:  # the primary key too
        cursor.execute(f"ALTER TABLE {aside} DROP CONSTRAINT {_q(name)}")
    for name, _definition in shape["indexes"]:
        cursor.execute(f"DROP INDEX {name}")
    cursor.execute(f"ALTER TABLE {aside} ALTER COLUMN id DROP IDENTITY")


def _finish(cursor, table: str, aside: str, shape: dict, primary_key: str) -> None:
    """Copy the rows from ``aside`` into the new ``table``, rebuild keys, constraints and
    indexes from their definitions, continue the sequence and drop ``aside``."""
    cursor.execute(f"INSERT INTO {table} SELECT * FROM {aside}")
    cursor.execute(
        f"ALTER TABLE {table} ALTER COLUMN id ADD GENERATED BY DEFAULT AS IDENTITY "
        f"(SEQUENCE NAME {_q(shape['schema'])}.{_q(shape['sequence'])} "
        f"START WITH {int(shape['start'])})"
    )
    cursor.execute(f"ALTER TABLE {table} ADD CONSTRAINT {table}_pkey PRIMARY KEY ({primary_key})")
    # Unique and check constraints, then plain indexes, then foreign keys (validated once).
    constraints = [c for c in shape["constraints"] if c[1] != "p"]
    for name, _kind, definition in (c for c in constraints if c[1] != "f"):
        cursor.execute(f"ALTER TABLE {table} ADD CONSTRAINT {_q(name)} {definition}")
    for _name, definition in shape["indexes"]:
        cursor.execute(_on_table(definition, table))
    for name, _kind, definition in (c for c in constraints if c[1] == "f"):
        cursor.execute(f"ALTER TABLE {table} ADD CONSTRAINT {_q(name)} {definition}")
    cursor.execute(f"DROP TABLE {aside}")
    cursor.execute(f"ANALYZE {table}")


def _on_table(index_definition: str, table: str) -> str:
    """An index definition (``pg_get_indexdef``) for the new table: the same table name, and
    "ON ONLY" (a partitioned index's definition) made a plain "ON", which on a partitioned
    table builds the index on every partition too."""
    head, _on, rest = index_definition.partition(" ON ")
    rest = rest.removeprefix("ONLY ")
    _old, _using, tail = rest.partition(" USING ")
    return f"{head} ON {table} USING {tail}"


def partition(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return  # SQLite: one table, as before
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(f"LOCK TABLE {TABLE} IN ACCESS EXCLUSIVE MODE")
        cursor.execute("SELECT relkind FROM pg_class WHERE oid = %s::regclass", [TABLE])
        if cursor.fetchone()[0] == "p":
            return  # already partitioned
        shape = _shape(cursor, TABLE)
        cursor.execute(
            f"SELECT DISTINCT date_trunc('month', \"timestamp\" AT TIME ZONE 'UTC')::date "
            f"FROM {TABLE} UNION SELECT (date_trunc('month', now() AT TIME ZONE 'UTC') "
            f"+ make_interval(months => n))::date FROM generate_series(0, %s) n ORDER BY 1",
            [MONTHS_AHEAD],
        )
        months = [month for (month,) in cursor.fetchall()]
        aside = f"{TABLE}_unpartitioned"
        _set_aside(cursor, TABLE, aside, shape)
        cursor.execute(
            f"CREATE TABLE {TABLE} (LIKE {aside} INCLUDING DEFAULTS INCLUDING STORAGE "
            'INCLUDING COMMENTS) PARTITION BY RANGE ("timestamp")'
        )
        for month in months:
            nxt = (month.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
            cursor.execute(
                f"CREATE TABLE {TABLE}_p{month:%Y_%m} PARTITION OF {TABLE} "
                f"FOR VALUES FROM ('{month:%Y-%m-%d} 00:00:00+00') TO ('{nxt:%Y-%m-%d} 00:00:00+00')"
            )
        cursor.execute(f"CREATE TABLE {DEFAULT} PARTITION OF {TABLE} DEFAULT")
        _finish(cursor, TABLE, aside, shape, 'id, "timestamp"')
        cursor.execute(
            ADD_MONTH.format(
                function=FUNCTION, table=TABLE, default=DEFAULT, schema=_q(shape["schema"])
            )
        )


def unpartition(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(f"LOCK TABLE {TABLE} IN ACCESS EXCLUSIVE MODE")
        cursor.execute(f"DROP FUNCTION IF EXISTS {FUNCTION}(date)")
        shape = _shape(cursor, TABLE)
        aside = f"{TABLE}_partitioned"
        _set_aside(cursor, TABLE, aside, shape)
        cursor.execute(
            f"CREATE TABLE {TABLE} (LIKE {aside} INCLUDING DEFAULTS INCLUDING STORAGE "
            "INCLUDING COMMENTS)"
        )
        _finish(cursor, TABLE, aside, shape, "id")


class Migration(migrations.Migration):
    dependencies = [("readings", "0007_rollup_day_slots")]

    operations = [migrations.RunPython(partition, unpartition)]
