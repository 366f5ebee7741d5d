"""Monthly partitions of the readings table on PostgreSQL (migration readings 0008).

``readings_reading`` is partitioned by month of ``timestamp`` in UTC: ``readings_reading_pYYYY_MM``
holds ``[YYYY-MM-01 00:00Z, first of the next month)``; ``readings_reading_default`` holds the
rows of any month without a partition of its own. On SQLite there is one table and every
function here does nothing (``partitioned()`` is False).

- ``reading_partitions_ensure``: the beat task's job (daily): a partition for the current month
  and the next ``READINGS_PARTITION_MONTHS_AHEAD``, and one for every month whose rows wait in
  the DEFAULT partition (an upload of an old file), which moves them out. Idempotent: a month
  that has a partition, or whose partition was detached for archive, is left alone. It runs as
  the app role through the SECURITY DEFINER function ``readings_reading_add_month``, since
  only the table's owner may add a partition.
- ``reading_partition_detach`` / ``reading_partition_attach``: take a past month out of the
  table for archive (its rows stay in a plain table of the same name, for ``pg_dump`` and then
  ``DROP TABLE``), or put it back. Run by the owner (``manage.py reading_partitions``).
- ``reading_partitions``: what there is, with row estimates.

Daily rollups are separate rows (``DailyRollup``), so a detached month still counts in every
rollup-based figure (triage, population, reports over rollups); only its raw readings (day
view, AGP over raw data, exports) are gone until it is attached again.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

TABLE = "readings_reading"
DEFAULT = f"{TABLE}_default"
_NAME = re.compile(rf"^{TABLE}_p(\d{{4}})_(\d{{2}})$")


@dataclass(frozen=True)
class Partition:
    name: str
    month: dt.date | None  # None: the DEFAULT partition
    rows: int  # the planner's estimate (reltuples), exact after ANALYZE


def partitioned() -> bool:
    """Whether the readings table is partitioned (PostgreSQL after migration readings 0008)."""
    if connection.vendor != "postgresql":
        return False
    with connection.cursor() as cursor:
        cursor.execute("SELECT relkind FROM pg_class WHERE oid = to_regclass(%s)", [TABLE])
        row = cursor.fetchone()
    return bool(row) and row[0] == "p"


def month_of(value: dt.date | dt.datetime) -> dt.date:
    """The first day of ``value``'s month (a datetime is taken in UTC).

    >>> month_of(dt.datetime(2027, 1, 31, 23, 30, tzinfo=dt.timezone(dt.timedelta(hours=-5))))
    datetime.date(2027, 2, 1)
    """
    if isinstance(value, dt.datetime):
        value = value.astimezone(dt.UTC).date()
    return value.replace(day=1)


def months_after(month: dt.date, count: int) -> dt.date:
    """``month`` moved by ``count`` months.

    >>> months_after(dt.date(2026, 11, 1), 3)
    datetime.date(2027, 2, 1)
    """
    index = month.year * 12 + month.month - 1 + count
    return dt.date(index // 12, index % 12 + 1, 1)


def partition_name(month: dt.date) -> str:
    return f"{TABLE}_p{month:%Y_%m}"


def reading_partitions() -> list[Partition]:
    """The attached partitions, oldest month first, the DEFAULT partition last."""
    if not partitioned():
        return []
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname, greatest(c.reltuples, 0)::bigint FROM pg_inherits i "
            "JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = %s::regclass",
            [TABLE],
        )
        rows = cursor.fetchall()
    found = []
    for name, estimate in rows:
        match = _NAME.match(name)
        month = dt.date(int(match[1]), int(match[2]), 1) if match else None
        found.append(Partition(name=name, month=month, rows=estimate))
    return sorted(found, key=lambda p: (p.month is None, p.month or dt.date.min))


def reading_partitions_ensure(*, ahead: int | None = None) -> list[str]:
    """Create the partitions that should exist (see the module docstring); returns the names
    created, oldest first. Safe to run twice, and by two workers at once."""
    if not partitioned():
        return []
    if ahead is None:
        ahead = settings.READINGS_PARTITION_MONTHS_AHEAD
    current = month_of(timezone.now())
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT DISTINCT date_trunc('month', \"timestamp\" AT TIME ZONE 'UTC')::date "
            f"FROM {DEFAULT}"
        )
        waiting = {month for (month,) in cursor.fetchall()}
    created = []
    for month in sorted(waiting | {months_after(current, n) for n in range(ahead + 1)}):
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SELECT readings_reading_add_month(%s)", [month])
            if cursor.fetchone()[0]:
                created.append(partition_name(month))
    return created


def reading_partition_detach(*, month: dt.date) -> str:
    """Detach ``month``'s partition for archive; returns the plain table that now holds its
    rows. Only months before the current one (new readings must not fall into the DEFAULT
    partition because their month is away). Needs the table's owner."""
    month = month_of(month)
    if month >= month_of(timezone.now()):
        raise ValueError(f"{month:%Y-%m} is not in the past: only past months are archived")
    name = partition_name(month)
    if name not in {p.name for p in reading_partitions()}:
        raise ValueError(f"{month:%Y-%m} has no attached partition")
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"ALTER TABLE {TABLE} DETACH PARTITION {name}")
    return name


def reading_partition_attach(*, month: dt.date) -> int:
    """Attach a detached month again. Readings of that month that arrived meanwhile (in the
    DEFAULT partition) join it, except those already in it; returns how many joined."""
    month = month_of(month)
    name = partition_name(month)
    if not partitioned():
        raise ValueError("the readings table is not partitioned")
    if name in {p.name for p in reading_partitions()}:
        raise ValueError(f"{month:%Y-%m} is attached already")
    low, high = f"{month:%Y-%m-%d} 00:00:00+00", f"{months_after(month, 1):%Y-%m-%d} 00:00:00+00"
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT to_regclass(%s)", [name])
        if cursor.fetchone()[0] is None:
            raise ValueError(f"there is no table {name} to attach")
        cursor.execute(f"LOCK TABLE {DEFAULT} IN ACCESS EXCLUSIVE MODE")
        cursor.execute(
            f'WITH moved AS (DELETE FROM {DEFAULT} WHERE "timestamp" >= %s AND "timestamp" < %s '
            f"RETURNING *) INSERT INTO {name} SELECT * FROM moved "
            "ON CONFLICT (patient_id, kind, timestamp) DO NOTHING",
            [low, high],
        )
        joined = cursor.rowcount
        cursor.execute(
            f"ALTER TABLE {TABLE} ATTACH PARTITION {name} FOR VALUES FROM ('{low}') TO ('{high}')"
        )
    return joined
