"""The readings table partitioned by month on PostgreSQL (migration readings 0008,
readings.services.partitions): the conversion of a populated table and back, the beat task
that creates months ahead, and detaching a month for archive. On SQLite nothing is
partitioned and the command says so."""

import datetime as dt

import pytest
import time_machine
from django.core.management import CommandError, call_command
from django.db import DatabaseError, IntegrityError, connection, transaction
from django.db.migrations.executor import MigrationExecutor

from readings.models import Device, Reading
from readings.parsers import Reading as Record
from readings.services import (
    reading_partition_attach,
    reading_partition_detach,
    reading_partitions,
    reading_partitions_ensure,
    readings_ingest,
)
from readings.services.partitions import months_after, partitioned
from readings.tasks import ensure_reading_partitions
from tests.accounts.app_role import app_role, connected_as
from tests.conftest import make_patient

postgres_only = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="declarative partitioning: PostgreSQL (CI phase 2)"
)

OLD = ("readings", "0007_rollup_day_slots")
NEW = ("readings", "0008_reading_partitioned_by_month")
UTC = dt.UTC


def _migrate(target):
    """As tests/care_plans/test_migrations.py: OLD puts readings back at 0007 with every app
    whose newest migration needs readings 0008 left out; NEW puts every app at its newest."""
    executor = MigrationExecutor(connection)
    graph = executor.loader.graph
    if target == OLD:
        plan = [OLD] + [
            leaf
            for leaf in graph.leaf_nodes()
            if leaf[0] != "readings" and NEW not in graph.forwards_plan(leaf)
        ]
    else:
        plan = graph.leaf_nodes()
    executor.migrate(plan)
    executor.loader.build_graph()
    return executor.loader.project_state(plan).apps


def _relkind(table="readings_reading"):
    with connection.cursor() as cursor:
        cursor.execute("SELECT relkind FROM pg_class WHERE oid = to_regclass(%s)", [table])
        row = cursor.fetchone()
    return row and row[0]


def _where(reading_id: int) -> str:
    """The partition that holds a reading."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT tableoid::regclass::text FROM readings_reading WHERE id = %s", [reading_id]
        )
        return cursor.fetchone()[0]


def _rows(Reading):
    return list(
        Reading.objects.order_by("id").values_list(
            "id",
            "patient_id",
            "device_id",
            "timestamp",
            "value_mg_dl",
            "kind",
            "flag",
            "meal_tag",
            "upload_id",
        )
    )


def _shape():
    """Constraints and indexes of readings_reading, by name and definition."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
            "WHERE conrelid = 'readings_reading'::regclass ORDER BY 1"
        )
        constraints = dict(cursor.fetchall())
        cursor.execute(
            "SELECT indexrelid::regclass::text FROM pg_index "
            "WHERE indrelid = 'readings_reading'::regclass ORDER BY 1"
        )
        indexes = [name for (name,) in cursor.fetchall()]
    return constraints, indexes


@postgres_only
@pytest.mark.django_db(transaction=True)
def test_it_converts_a_populated_table_and_back_keeping_rows_ids_and_rules():
    apps = _migrate(OLD)
    try:
        assert _relkind() == "r"
        old_constraints, old_indexes = _shape()
        Patient = apps.get_model("patients", "Patient")
        OldDevice = apps.get_model("readings", "Device")
        Upload = apps.get_model("readings", "Upload")
        OldReading = apps.get_model("readings", "Reading")
        patient = Patient.objects.create(
            mrn="PART-1", name="Partitioned", birth_date=dt.date(1970, 1, 2), diabetes_type="T1"
        )
        device = OldDevice.objects.create(patient=patient, identity="G7", kind="cgm")
        upload = Upload.objects.create(patient=patient, filename="old.csv")
        moments = [
            dt.datetime(2019, 3, 14, 9, 26, tzinfo=UTC),  # a lone old month
            dt.datetime(2026, 9, 30, 23, 59, 59, 999999, tzinfo=UTC),  # a month's last instant
            dt.datetime(2026, 10, 1, 0, 0, tzinfo=UTC),  # the next month's first
            # Shanghai's 1 November is still 31 October in UTC: months are UTC months.
            dt.datetime(2026, 11, 1, 7, 0, tzinfo=dt.timezone(dt.timedelta(hours=8))),
        ] + [dt.datetime(2026, 10, 5, tzinfo=UTC) + dt.timedelta(minutes=5 * i) for i in range(50)]
        OldReading.objects.bulk_create(
            OldReading(
                patient=patient,
                device=device,
                timestamp=moment,
                value_mg_dl=100 + i,
                kind="cgm",
                flag="high" if i == 1 else "",
                upload=upload if i % 2 else None,
            )
            for i, moment in enumerate(moments)
        )
        # The sequence is past the largest id (a deleted reading): new ids continue after it.
        OldReading.objects.create(
            patient=patient, device=device, timestamp=moments[-1], value_mg_dl=90, kind="smbg"
        ).delete()
        with connection.cursor() as cursor:
            cursor.execute("SELECT last_value FROM readings_reading_id_seq")
            (last_id,) = cursor.fetchone()
        before = _rows(OldReading)

        apps = _migrate(NEW)
        assert _relkind() == "p"
        assert _rows(Reading) == before
        months = {p.month for p in reading_partitions() if p.month}
        with connection.cursor() as cursor:  # the migration's "now" is the server's
            cursor.execute("SELECT (now() AT TIME ZONE 'UTC')::date")
            today = cursor.fetchone()[0].replace(day=1)
        assert {
            dt.date(2019, 3, 1),
            dt.date(2026, 9, 1),
            dt.date(2026, 10, 1),
            *(months_after(today, n) for n in range(4)),
        } <= months
        assert "readings_reading_default" in {p.name for p in reading_partitions()}
        assert _where(before[1][0]) == "readings_reading_p2026_09"
        assert _where(before[2][0]) == "readings_reading_p2026_10"
        assert _where(before[3][0]) == "readings_reading_p2026_10"
        # The same constraints and indexes, by name; the primary key now holds the timestamp.
        constraints, indexes = _shape()
        assert set(constraints) == set(old_constraints)
        assert set(indexes) == set(old_indexes)
        assert constraints["readings_reading_pkey"] == 'PRIMARY KEY (id, "timestamp")'
        assert old_constraints["readings_reading_pkey"] == "PRIMARY KEY (id)"
        for name in set(constraints) - {"readings_reading_pkey"}:
            assert constraints[name] == old_constraints[name]

        new = Reading.objects.create(
            patient_id=patient.pk,
            device_id=device.pk,
            timestamp=dt.datetime(2026, 10, 9, tzinfo=UTC),
            value_mg_dl=111,
            kind="cgm",
        )
        assert new.pk == last_id + 1
        # One reading per patient, kind and instant, whatever the partition …
        with pytest.raises(IntegrityError), transaction.atomic():
            Reading.objects.create(
                patient_id=patient.pk,
                device_id=device.pk,
                timestamp=moments[2],
                value_mg_dl=150,
                kind="cgm",
            )
        # … and plausible values only (reading_value_plausible).
        with pytest.raises(IntegrityError), transaction.atomic():
            Reading.objects.create(
                patient_id=patient.pk,
                device_id=device.pk,
                timestamp=dt.datetime(2026, 10, 9, 1, tzinfo=UTC),
                value_mg_dl=0,
                kind="cgm",
            )
        # The foreign keys hold too.
        with pytest.raises(IntegrityError), transaction.atomic():
            Reading.objects.create(
                patient_id=patient.pk,
                device_id=device.pk + 1000,
                timestamp=dt.datetime(2026, 10, 9, 2, tzinfo=UTC),
                value_mg_dl=100,
                kind="cgm",
            )
        after = _rows(Reading)
        with connection.cursor() as cursor:  # failed inserts took numbers too
            cursor.execute("SELECT last_value FROM readings_reading_id_seq")
            (last_id,) = cursor.fetchone()
        assert last_id > new.pk

        apps = _migrate(OLD)
        assert _relkind() == "r"
        assert _rows(apps.get_model("readings", "Reading")) == after
        constraints, indexes = _shape()
        assert constraints == old_constraints
        assert set(indexes) == set(old_indexes)
        with connection.cursor() as cursor:
            cursor.execute("SELECT to_regproc('readings_reading_add_month')")
            assert cursor.fetchone()[0] is None
            cursor.execute("SELECT nextval('readings_reading_id_seq')")
            assert cursor.fetchone()[0] == last_id + 1
    finally:
        _migrate(NEW)
    assert _relkind() == "p"


@pytest.fixture
def patient(db):
    return make_patient("PART-2")


def _reading(patient, when: dt.datetime, value=120.0, kind="cgm") -> Reading:
    device, _ = Device.objects.get_or_create(patient=patient, identity="G7", kind="cgm")
    return Reading.objects.create(
        patient=patient, device=device, timestamp=when, value_mg_dl=value, kind=kind
    )


@postgres_only
@pytest.mark.django_db
def test_it_is_partitioned_after_migrate():
    assert partitioned()


@postgres_only
def test_the_importers_conflict_paths_still_store_each_reading_once(patient):
    """COPY straight in, then the staging table's INSERT … ON CONFLICT: a file that overlaps
    what is stored — across a month boundary, so across partitions — adds only the new rows."""
    start = dt.datetime(2031, 3, 31, 20, tzinfo=UTC)
    step = dt.timedelta(minutes=5)

    def records(first, count, value=lambda n: 100 + n % 50):
        return [
            Record(n + 1, start + step * n, float(value(n)), "cgm", "G7 SN1")
            for n in range(first, first + count)
        ]

    with time_machine.travel(dt.datetime(2031, 4, 2, tzinfo=UTC), tick=False):
        reading_partitions_ensure()
        with transaction.atomic():
            first = readings_ingest(patient=patient, items=records(0, 100), chunk_size=40)
        with transaction.atomic():  # 50 stored, 50 new; 10 of the stored with other values
            second = readings_ingest(
                patient=patient,
                items=records(50, 100, value=lambda n: 200 if n < 60 else 100 + n % 50),
                chunk_size=40,
            )
    assert (first.accepted, second.accepted) == (100, 50)
    assert second.duplicates + second.conflicts == 50
    assert second.conflicts == 10
    stored = Reading.objects.filter(patient=patient)
    assert stored.count() == 150
    assert stored.filter(timestamp__lt=dt.datetime(2031, 4, 1, tzinfo=UTC)).count() == 48
    # March had no partition (the beat task makes the current month on): its rows wait in
    # DEFAULT until the next run gives them one.
    assert {_where(r.pk) for r in stored} == {
        "readings_reading_default",
        "readings_reading_p2031_04",
    }
    with time_machine.travel(dt.datetime(2031, 4, 3, tzinfo=UTC), tick=False):
        assert reading_partitions_ensure() == ["readings_reading_p2031_03"]
    assert {_where(r.pk) for r in stored} == {
        "readings_reading_p2031_03",
        "readings_reading_p2031_04",
    }
    assert stored.count() == 150


@postgres_only
def test_a_days_readings_are_read_from_their_months_partition_only(patient):
    with time_machine.travel(dt.datetime(2031, 4, 2, tzinfo=UTC), tick=False):
        reading_partitions_ensure()
    query = Reading.objects.filter(
        patient=patient,
        timestamp__gte=dt.datetime(2031, 4, 1, 0, tzinfo=UTC),
        timestamp__lt=dt.datetime(2031, 4, 2, 0, tzinfo=UTC),
    ).order_by("timestamp")
    plan = query.explain()
    assert "readings_reading_p2031_04" in plan
    assert "readings_reading_p2031_05" not in plan
    assert "readings_reading_default" not in plan


@postgres_only
def test_it_creates_months_ahead_once_and_moves_waiting_rows_out_of_default(patient):
    with time_machine.travel(dt.datetime(2031, 11, 20, 12, tzinfo=UTC), tick=False):
        early = _reading(patient, dt.datetime(2031, 5, 6, tzinfo=UTC))
        later = _reading(patient, dt.datetime(2031, 12, 31, 23, tzinfo=UTC))
        assert _where(early.pk) == _where(later.pk) == "readings_reading_default"

        created = ensure_reading_partitions()

        assert created == [
            "readings_reading_p2031_05",
            "readings_reading_p2031_11",
            "readings_reading_p2031_12",
            "readings_reading_p2032_01",
            "readings_reading_p2032_02",
        ]
        assert _where(early.pk) == "readings_reading_p2031_05"
        assert _where(later.pk) == "readings_reading_p2031_12"
        assert ensure_reading_partitions() == []  # run twice: nothing more
        assert Reading.objects.filter(patient=patient).count() == 2
        # New readings go to their month; the rule of one per instant spans the partitions.
        assert _where(_reading(patient, dt.datetime(2032, 1, 3, tzinfo=UTC)).pk).endswith(
            "p2032_01"
        )
        with pytest.raises(IntegrityError), transaction.atomic():
            _reading(patient, dt.datetime(2031, 5, 6, tzinfo=UTC), value=130)


@postgres_only
def test_it_detaches_a_past_month_for_archive_and_attaches_it_again(patient):
    with time_machine.travel(dt.datetime(2031, 7, 10, tzinfo=UTC), tick=False):
        reading_partitions_ensure()
        march = [_reading(patient, dt.datetime(2031, 3, d, tzinfo=UTC)) for d in (1, 2, 3)]
        _reading(patient, dt.datetime(2031, 4, 1, tzinfo=UTC))  # a month that has none yet
        reading_partitions_ensure()
        july = _reading(patient, dt.datetime(2031, 7, 9, tzinfo=UTC))

        call_command("reading_partitions", "detach", "2031-03")

        assert "readings_reading_p2031_03" not in {p.name for p in reading_partitions()}
        assert not Reading.objects.filter(pk__in=[r.pk for r in march]).exists()
        assert Reading.objects.filter(pk=july.pk).exists()
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM readings_reading_p2031_03")
            assert cursor.fetchone()[0] == 3  # kept for pg_dump
        # The beat task does not bring an archived month back …
        assert reading_partitions_ensure() == []
        # … a late reading of that month waits in DEFAULT (one already archived, one new) …
        _reading(patient, dt.datetime(2031, 3, 2, tzinfo=UTC))
        late = _reading(patient, dt.datetime(2031, 3, 4, tzinfo=UTC))
        # … and joins the month when it is attached again, without a second copy.
        assert reading_partition_attach(month=dt.date(2031, 3, 1)) == 1
        assert (
            Reading.objects.filter(
                timestamp__gte=dt.datetime(2031, 3, 1, tzinfo=UTC),
                timestamp__lt=dt.datetime(2031, 4, 1, tzinfo=UTC),
            ).count()
            == 4
        )
        assert _where(late.pk) == "readings_reading_p2031_03"

        with pytest.raises(ValueError, match="not in the past"):
            reading_partition_detach(month=dt.date(2031, 7, 1))
        with pytest.raises(ValueError, match="no attached partition"):
            reading_partition_detach(month=dt.date(2019, 1, 1))
        with pytest.raises(CommandError, match="not a month"):
            call_command("reading_partitions", "detach", "March")
        with pytest.raises(CommandError, match="attached already"):
            call_command("reading_partitions", "attach", "2031-03")


@postgres_only
@pytest.mark.django_db(transaction=True)
def test_the_app_role_runs_the_beat_task_but_cannot_detach():
    """The workers and beat connect as the app role (accounts db_roles), which owns no table:
    it adds months through the owner's SECURITY DEFINER function, and cannot detach one."""
    made = ["readings_reading_p2041_0" + str(m) for m in (3, 4, 5, 6)]
    try:
        with app_role() as role:
            with time_machine.travel(dt.datetime(2041, 3, 15, tzinfo=UTC), tick=False):
                with connected_as(role):
                    assert ensure_reading_partitions() == made
                    assert ensure_reading_partitions() == []
            with time_machine.travel(dt.datetime(2041, 5, 2, tzinfo=UTC), tick=False):
                with connected_as(role), pytest.raises(DatabaseError, match="must be owner"):
                    reading_partition_detach(month=dt.date(2041, 3, 1))
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT DISTINCT pg_get_userbyid(relowner) FROM pg_class "
                    "WHERE relname = ANY(%s)",
                    [made],
                )
                assert cursor.fetchall() == [(connection.settings_dict["USER"],)]
    finally:
        with connection.cursor() as cursor:
            for name in made:
                cursor.execute(f"DROP TABLE IF EXISTS {name}")


@pytest.mark.skipif(connection.vendor != "sqlite", reason="SQLite's single table")
@pytest.mark.django_db
def test_on_sqlite_there_is_nothing_to_partition():
    assert not partitioned()
    assert ensure_reading_partitions() == []
    assert reading_partitions() == []
    with pytest.raises(CommandError, match="not partitioned"):
        call_command("reading_partitions", "list")


@pytest.mark.django_db
def test_the_beat_schedule_runs_it_daily_on_the_ingest_queue():
    from django_celery_beat.models import PeriodicTask

    from diabetes_center.celery import app

    row = PeriodicTask.objects.get(name="readings: partitions ahead")
    assert (row.task, row.enabled, row.args, row.kwargs) == (
        "readings.tasks.ensure_reading_partitions",
        True,
        "[]",
        "{}",
    )
    crontab = row.crontab
    assert (crontab.minute, crontab.hour, crontab.day_of_month, str(crontab.timezone)) == (
        "17",
        "3",
        "*",
        "UTC",
    )
    app.loader.import_default_modules()
    assert app.amqp.router.route({}, row.task)["queue"].name == "ingest"
