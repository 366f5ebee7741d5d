"""The app's PostgreSQL role: everything the app does, and no way to empty the audit trail.

Production runs with two database roles (README, "Production"):

- the **owner** owns the database and its tables: it runs ``migrate`` (and, in tests, creates,
  migrates and flushes the test database) and ``manage.py db_roles --apply``;
- the **app role** serves requests and runs the Celery workers and beat. It is not a
  superuser, so it cannot switch triggers off (``session_replication_role = replica``), and it
  owns nothing, so it cannot ``ALTER TABLE … DISABLE TRIGGER``. On the audit table it may read
  and add rows, never UPDATE, DELETE or TRUNCATE (the table's trigger also refuses UPDATE and
  DELETE to everyone: migration accounts 0004). Everywhere else it reads and writes rows and
  uses sequences: sessions, django-axes, django-celery-beat, the outbox, readings (``COPY``,
  and a temporary staging table: ``TEMPORARY`` on the database), row locks (``SELECT … FOR
  UPDATE`` needs UPDATE, which it has) and advisory locks (open to everyone). It never needs
  TRUNCATE, REFERENCES, TRIGGER, or CREATE in the schema.

Tables that later migrations create, as the owner, get the same grants through default
privileges (``ALTER DEFAULT PRIVILEGES FOR ROLE owner``), so a new table never breaks the app.
Default privileges cannot single out one table, so the audit table's restriction is re-applied
by running ``db_roles --apply`` again after every ``migrate`` (it is idempotent). That is a
deploy step, not a migration: the app role's name is deployment configuration that migrations
do not know (and most databases that migrate, SQLite and the test databases, have no app role).
A forgotten re-run is harmless: default privileges never grant TRUNCATE, and only a migration
that re-created the audit table could give it back UPDATE and DELETE, which its trigger refuses.

This module only writes the SQL (no Django): ``accounts/management/commands/db_roles.py``
finds the names on the database and prints or runs it.
"""

_DOLLAR_TAG = "$db_roles$"


def quote_ident(name: str) -> str:
    """An SQL identifier, always quoted.

    >>> quote_ident('we"ird')
    '"we""ird"'
    """
    if "\x00" in name:
        raise ValueError("an SQL name cannot hold a NUL character")
    return '"' + name.replace('"', '""') + '"'


def quote_literal(text: str) -> str:
    """An SQL string literal (``standard_conforming_strings``, on since PostgreSQL 9.1).

    >>> quote_literal("it's")
    "'it''s'"
    """
    if "\x00" in text:
        raise ValueError("an SQL string cannot hold a NUL character")
    return "'" + text.replace("'", "''") + "'"


def app_role_statements(
    *,
    app_role: str,
    owner: str,
    database: str,
    schema: str,
    audit_table: str,
    password: str | None = None,
) -> list[str]:
    """The statements (each with its comment) that make ``app_role`` exactly what it must be.

    Idempotent: a missing role is created with LOGIN; an existing one loses any power it
    should not have (superuser, CREATEDB, CREATEROLE, REPLICATION, BYPASSRLS, membership of
    another role such as the owner or ``pg_write_all_data``, privileges on parameters) and its
    privileges here are revoked and granted afresh. Without ``password`` the role's password
    is left as it is (a new role has none: trust, peer or certificate authentication).
    """
    if _DOLLAR_TAG in app_role or len(app_role.encode()) > 63 or not app_role:
        raise ValueError("the app role's name must be 1 to 63 bytes, without '$db_roles$'")
    role = quote_ident(app_role)
    name = quote_literal(app_role)
    on_schema = f"IN SCHEMA {quote_ident(schema)}"
    audit = f"{quote_ident(schema)}.{quote_ident(audit_table)}"
    defaults = f"ALTER DEFAULT PRIVILEGES FOR ROLE {quote_ident(owner)} {on_schema}"

    def revoke(what: str) -> str:  # dynamic SQL inside the DO block below
        command = f"REVOKE {what} FROM {role.replace('%', '%%')}"
        return f"EXECUTE format({quote_literal(command)}, granted);"

    statements = [
        f"""-- The role: LOGIN; no superuser (who may switch triggers off), no CREATEDB,
-- CREATEROLE, REPLICATION or BYPASSRLS, and a member of no role whose rights it would borrow.
DO {_DOLLAR_TAG}
DECLARE
    existing record;
    granted text;
BEGIN
    SELECT * INTO existing FROM pg_roles WHERE rolname = {name};
    IF NOT FOUND THEN
        CREATE ROLE {role} LOGIN;
        RETURN;
    END IF;
    IF NOT existing.rolcanlogin THEN ALTER ROLE {role} LOGIN; END IF;
    IF existing.rolsuper THEN ALTER ROLE {role} NOSUPERUSER; END IF;
    IF existing.rolcreatedb THEN ALTER ROLE {role} NOCREATEDB; END IF;
    IF existing.rolcreaterole THEN ALTER ROLE {role} NOCREATEROLE; END IF;
    IF existing.rolreplication THEN ALTER ROLE {role} NOREPLICATION; END IF;
    IF existing.rolbypassrls THEN ALTER ROLE {role} NOBYPASSRLS; END IF;
    FOR granted IN SELECT roleid::regrole::text FROM pg_auth_members
                   WHERE member = existing.oid LOOP
        {revoke("%s")}
    END LOOP;
    IF to_regclass('pg_catalog.pg_parameter_acl') IS NOT NULL THEN  -- PostgreSQL 15+
        FOR granted IN EXECUTE 'SELECT p.parname FROM pg_parameter_acl p, aclexplode(p.paracl) a
                                WHERE a.grantee = $1' USING existing.oid LOOP
            {revoke("ALL ON PARAMETER %s")}
        END LOOP;
    END IF;
END
{_DOLLAR_TAG};""",
        f"""-- This database: connect, and make temporary tables (an import's staging table).
REVOKE ALL ON DATABASE {quote_ident(database)} FROM {role};
GRANT CONNECT, TEMPORARY ON DATABASE {quote_ident(database)} TO {role};""",
        f"""-- The schema: use it, create nothing in it.
REVOKE ALL ON SCHEMA {quote_ident(schema)} FROM {role};
GRANT USAGE ON SCHEMA {quote_ident(schema)} TO {role};""",
        f"""-- Every table: read and write rows; never TRUNCATE. Sequences: take the next number.
REVOKE ALL ON ALL TABLES {on_schema} FROM {role};
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES {on_schema} TO {role};
REVOKE ALL ON ALL SEQUENCES {on_schema} FROM {role};
GRANT USAGE, SELECT ON ALL SEQUENCES {on_schema} TO {role};""",
        f"""-- The audit trail is append-only: read and add rows, nothing else.
REVOKE UPDATE, DELETE, TRUNCATE ON TABLE {audit} FROM {role};""",
        f"""-- Tables and sequences that later migrations create (as the owner) are granted alike;
-- run db_roles --apply again after migrate to re-apply the audit trail's restriction.
{defaults} REVOKE ALL ON TABLES FROM {role};
{defaults} GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO {role};
{defaults} REVOKE ALL ON SEQUENCES FROM {role};
{defaults} GRANT USAGE, SELECT ON SEQUENCES TO {role};""",
    ]
    if password is not None:
        statements.append(
            f"-- Its password.\nALTER ROLE {role} PASSWORD {quote_literal(password)};"
        )
    return statements


def app_role_script(**names) -> str:
    """``app_role_statements`` as one transaction, ready for ``psql``."""
    return "\n\n".join(["BEGIN;", *app_role_statements(**names), "COMMIT;"]) + "\n"
