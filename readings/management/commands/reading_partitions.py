"""``manage.py reading_partitions list|ensure|detach YYYY-MM|attach YYYY-MM``: the readings
table's monthly partitions on PostgreSQL (readings.services.partitions; docs/scaling.md).

``detach`` and ``attach`` change the table: run them as its owner (the migrating role)."""

import datetime as dt

from django.core.management.base import BaseCommand, CommandError

from readings.services import (
    reading_partition_attach,
    reading_partition_detach,
    reading_partitions,
    reading_partitions_ensure,
)
from readings.services.partitions import partitioned


def _month(text: str) -> dt.date:
    try:
        return dt.datetime.strptime(text, "%Y-%m").date()
    except ValueError:
        raise CommandError(f"{text!r} is not a month (YYYY-MM)") from None


class Command(BaseCommand):
    help = (
        "The readings table's monthly partitions (PostgreSQL). list: each partition and its "
        "estimated rows; ensure: what the daily beat task does (partitions ahead, rows out of "
        "the DEFAULT partition); detach YYYY-MM: take a past month out for archive — its rows "
        "stay in the plain table readings_reading_pYYYY_MM, for pg_dump and then DROP TABLE; "
        "attach YYYY-MM: put a detached month back."
    )

    def add_arguments(self, parser):
        parser.add_argument("action", choices=["list", "ensure", "detach", "attach"])
        parser.add_argument("month", nargs="?", help="YYYY-MM (detach, attach)")

    def handle(self, *args, action: str, month: str | None, **options):
        if not partitioned():
            raise CommandError("the readings table is not partitioned (PostgreSQL only)")
        if action in ("detach", "attach") and not month:
            raise CommandError(f"{action} needs a month: YYYY-MM")
        try:
            if action == "list":
                for part in reading_partitions():
                    label = f"{part.month:%Y-%m}" if part.month else "DEFAULT"
                    self.stdout.write(f"{label:<8} {part.name:<28} ~{part.rows:,} rows")
            elif action == "ensure":
                for name in reading_partitions_ensure():
                    self.stdout.write(f"created {name}")
            elif action == "detach":
                name = reading_partition_detach(month=_month(month))
                self.stdout.write(
                    f"detached {name}: its readings are no longer in readings_reading. "
                    f"Archive it with `pg_dump --table={name} ...`, then `DROP TABLE {name}`; "
                    f"or `reading_partitions attach {month}` to bring it back."
                )
            else:
                joined = reading_partition_attach(month=_month(month))
                self.stdout.write(f"attached {month} ({joined} readings joined it from DEFAULT)")
        except ValueError as error:
            raise CommandError(str(error)) from None
