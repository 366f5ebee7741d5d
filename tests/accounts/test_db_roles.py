"""``manage.py db_roles``: the app's database role does the app's work and cannot empty or
rewrite the audit trail (issue #18).

The audit table's trigger refuses UPDATE and DELETE, but not TRUNCATE, and a superuser may
switch triggers off (``session_replication_role = replica``). The app role the command makes
is no superuser and holds no TRUNCATE, UPDATE or DELETE on the audit table. These tests make
the role on the test database (PostgreSQL, CI's phase 2), sign in as it, and try both.
"""

import datetime as dt
from io import StringIO

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.db import connection, transaction
from django.db.utils import DatabaseError
from django.urls import reverse

import readings.api
from accounts.db_roles import app_role_script, quote_ident, quote_literal
from accounts.models import AuditEvent
from readings.models import Reading, Upload
from tests.accounts.app_role import app_role, connected_as, drop_role, unique_role_name
from tests.readings.helpers import login, plain_csv

POSTGRESQL_ONLY = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="roles and grants are PostgreSQL's (CI phase 2)"
)
AUDIT = AuditEvent._meta.db_table
ESCAPES = (
    f"TRUNCATE {AUDIT} CASCADE",
    f"UPDATE {AUDIT} SET what = 'forged'",
    f"DELETE FROM {AUDIT}",
    "SET session_replication_role = replica",
    f"ALTER TABLE {AUDIT} DISABLE TRIGGER ALL",
)


def _event(what: str = "seen") -> AuditEvent:
    return AuditEvent.objects.create(username="x", role="admin", action="view", what=what)


def _refused(sql: str) -> bool:
    """Whether PostgreSQL refuses ``sql`` (tried in a savepoint that is then rolled back)."""
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(sql)
            transaction.set_rollback(True)  # the owner's try must change nothing either
    except DatabaseError as error:
        assert "permission denied" in str(error) or "must be owner" in str(error), error
        return True
    return False


@POSTGRESQL_ONLY
@pytest.mark.django_db(transaction=True)
def test_it_refuses_the_app_role_every_way_of_emptying_the_audit_trail():
    _event()
    # The owner (here the superuser the tests connect as) can: the hole this closes.
    assert not _refused(f"TRUNCATE {AUDIT} CASCADE")
    assert not _refused("SET session_replication_role = replica")
    with app_role() as role, connected_as(role):
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT current_user, rolsuper FROM pg_roles WHERE rolname = current_user"
            )
            assert cursor.fetchone() == (role.name, False)
        assert [sql for sql in ESCAPES if not _refused(sql)] == []
        assert AuditEvent.objects.get().what == "seen"


@POSTGRESQL_ONLY
@pytest.mark.django_db(transaction=True)
def test_it_lets_the_app_role_do_the_apps_work(client, alice, patient, monkeypatch):
    from django_celery_beat.models import IntervalSchedule, PeriodicTask
    from django_celery_beat.schedulers import DatabaseScheduler

    from diabetes_center.celery import app as celery_app

    every_minute = IntervalSchedule.objects.create(every=1, period=IntervalSchedule.MINUTES)
    PeriodicTask.objects.create(name="tick", task="celery.ping", interval=every_minute)
    start = dt.datetime(2024, 5, 1, tzinfo=dt.UTC)
    upload_url = reverse("api-patients-uploads", args=[patient.pk])
    with app_role() as role, connected_as(role):
        _event("written by the app role")
        login(client, alice)  # a session row, the user's last_login
        assert client.session.session_key
        first = client.post(upload_url, {"file": SimpleUploadedFile("a.csv", plain_csv(start, 48))})
        assert first.status_code == 201, first.content  # COPY straight into the readings
        again = client.post(upload_url, {"file": SimpleUploadedFile("b.csv", plain_csv(start, 60))})
        assert again.status_code == 201, again.content  # a temporary staging table: overlaps
        assert (again.json()["accepted"], again.json()["duplicates"]) == (12, 48)
        monkeypatch.setattr(readings.api, "SYNC_UPLOAD_MAX_BYTES", 100)
        later = start + dt.timedelta(days=1)
        queued = client.post(
            upload_url, {"file": SimpleUploadedFile("c.csv", plain_csv(later, 24))}
        )
        assert queued.status_code == 202, queued.content  # through the outbox, run eagerly
        assert client.get(reverse("patients-detail", args=[patient.pk])).status_code == 200
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(18)")
        beat = DatabaseScheduler(app=celery_app)  # beat reads its schedule and records a run
        beat.reserve(beat.schedule["tick"])
        beat.sync()
        assert PeriodicTask.objects.get(name="tick").total_run_count == 1
    assert Reading.objects.filter(patient=patient).count() == 84
    assert set(Upload.objects.values_list("status", flat=True)) == {Upload.Status.DONE}
    assert AuditEvent.objects.filter(what="written by the app role").exists()
    assert AuditEvent.objects.filter(action="sign-in", username="alice").exists()
    assert AuditEvent.objects.filter(action="view", username="alice", patient=patient).exists()


@POSTGRESQL_ONLY
@pytest.mark.django_db(transaction=True)
def test_it_grants_the_tables_of_later_migrations():
    with app_role() as role:
        with connection.cursor() as cursor:  # as a later migration would, as the owner
            cursor.execute("CREATE TABLE db_roles_later (id bigserial PRIMARY KEY, note text)")
        try:
            with connected_as(role), connection.cursor() as cursor:
                cursor.execute("INSERT INTO db_roles_later (note) VALUES ('new') RETURNING id")
                cursor.execute("UPDATE db_roles_later SET note = 'changed'")
                cursor.execute("DELETE FROM db_roles_later")
                assert _refused("TRUNCATE db_roles_later")
        finally:
            with connection.cursor() as cursor:
                cursor.execute("DROP TABLE db_roles_later")


@POSTGRESQL_ONLY
@pytest.mark.django_db(transaction=True)
def test_it_takes_back_what_an_existing_role_had_too_much_of():
    name = unique_role_name()
    quoted = quote_ident(name)
    try:
        with connection.cursor() as cursor:
            cursor.execute(f"CREATE ROLE {quoted} NOLOGIN CREATEDB BYPASSRLS")
            cursor.execute(f"GRANT pg_write_all_data TO {quoted}")
            cursor.execute(f"GRANT TRUNCATE ON {AUDIT} TO {quoted}")
        out = StringIO()
        call_command("db_roles", "--app-role", name, "--apply", stdout=out)
        call_command("db_roles", "--app-role", name, "--apply", stdout=out)  # and again
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT rolcanlogin, rolsuper, rolcreatedb, rolcreaterole, rolbypassrls, "
                " rolreplication, pg_has_role(oid, 'pg_write_all_data', 'MEMBER'),"
                " has_table_privilege(oid, %s, 'TRUNCATE'), has_table_privilege(oid, %s, 'UPDATE'),"
                " has_table_privilege(oid, %s, 'INSERT') FROM pg_roles WHERE rolname = %s",
                [AUDIT, AUDIT, AUDIT, name],
            )
            assert cursor.fetchone() == (
                True,
                False,
                False,
                False,
                False,
                False,
                False,
                False,
                False,
                True,
            )
    finally:
        drop_role(name)


@POSTGRESQL_ONLY
@pytest.mark.django_db(transaction=True)
def test_it_prints_the_sql_and_changes_nothing_without_apply(monkeypatch):
    monkeypatch.setenv("DB_APP_ROLE_PASSWORD", "it's secret")
    name = unique_role_name()
    out = StringIO()
    call_command("db_roles", "--app-role", name, stdout=out)
    sql = out.getvalue()
    assert f"CREATE ROLE {quote_ident(name)} LOGIN" in sql
    assert "PASSWORD 'it''s secret'" in sql
    assert f'REVOKE UPDATE, DELETE, TRUNCATE ON TABLE "public".{quote_ident(AUDIT)}' in sql
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_roles WHERE rolname = %s", [name])
        assert cursor.fetchone() == (0,)


@POSTGRESQL_ONLY
@pytest.mark.django_db(transaction=True)
def test_it_refuses_to_make_the_owner_the_app_role():
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_user")
        (owner,) = cursor.fetchone()
    with pytest.raises(CommandError, match="owner"):
        call_command("db_roles", "--app-role", owner, "--apply", stdout=StringIO())


@pytest.mark.skipif(connection.vendor == "postgresql", reason="the SQLite answer")
def test_it_says_it_is_postgresql_only_on_sqlite():
    with pytest.raises(CommandError, match="PostgreSQL only"):
        call_command("db_roles", "--app-role", "diabetes_app", stdout=StringIO())


def test_it_quotes_names_and_passwords():
    assert quote_ident('we"ird') == '"we""ird"'
    assert quote_literal("it's") == "'it''s'"
    sql = app_role_script(
        app_role='we"ird',
        owner="owner",
        database="db",
        schema="public",
        audit_table=AUDIT,
        password="it's",
    )
    assert 'CREATE ROLE "we""ird" LOGIN' in sql
    assert "ALTER ROLE \"we\"\"ird\" PASSWORD 'it''s'" in sql
