"""``manage.py db_roles --app-role NAME [--apply]``: the app role (see accounts/db_roles.py)."""

import os

from django.core.management.base import BaseCommand, CommandError
from django.db import DatabaseError, connection, transaction

from accounts.db_roles import app_role_script, app_role_statements
from accounts.models import AuditEvent

PASSWORD_VARIABLE = "DB_APP_ROLE_PASSWORD"


class Command(BaseCommand):
    help = (
        "Print the SQL that creates (or repairs) the app's PostgreSQL role with LOGIN and "
        "exactly its privileges on this database: rows of every table, but only SELECT and "
        "INSERT on the audit trail; no superuser, no TRUNCATE. With --apply, run it as the "
        "current DATABASE_URL user, who must own the tables (the role that runs migrate). "
        "Idempotent: run it again after every migrate. Web servers and workers then connect "
        "as the app role. PostgreSQL only."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--app-role", required=True, metavar="NAME", help="the role web and workers use"
        )
        parser.add_argument(
            "--password",
            help=f"the app role's password (default: ${PASSWORD_VARIABLE}, which stays out of "
            "the process list; neither: the password is left as it is, none for a new role, "
            "for trust, peer or certificate authentication). The printed SQL contains it.",
        )
        parser.add_argument(
            "--apply",
            action="store_true",
            help="run the SQL (in one transaction) instead of printing it",
        )

    def handle(self, *args, app_role: str, password: str | None, apply: bool, **options):
        if connection.vendor != "postgresql":
            raise CommandError(
                "db_roles is for PostgreSQL only: database roles and grants protect the audit "
                f"trail there (this DATABASE_URL is {connection.vendor})."
            )
        owner, schema, database, current = self._names()
        if app_role in (owner, current):
            raise CommandError(
                f"{app_role!r} is the owner of the tables (or the user running this): the app "
                "role must be another role, one that owns nothing."
            )
        if password is None:
            password = os.environ.get(PASSWORD_VARIABLE) or None
        names = {
            "app_role": app_role,
            "owner": owner,
            "database": database,
            "schema": schema,
            "audit_table": AuditEvent._meta.db_table,
            "password": password,
        }
        try:
            statements = app_role_statements(**names)
        except ValueError as error:
            raise CommandError(str(error)) from None
        if not apply:
            self.stdout.write(app_role_script(**names), ending="")
            return
        try:
            with transaction.atomic(), connection.cursor() as cursor:
                for statement in statements:
                    if options["verbosity"] > 1:
                        self.stdout.write(statement)
                    cursor.execute(statement)
        except DatabaseError as error:
            raise CommandError(
                f"{error}".strip() + f"\n(run db_roles --apply as {owner!r}, which owns the "
                "tables, or as a superuser; creating the role needs CREATEROLE)"
            ) from None
        self.stdout.write(
            f"App role {app_role!r} set up on database {database!r} (tables owned by {owner!r})."
        )

    def _names(self) -> tuple[str, str, str, str]:
        """The tables' owner and schema (the audit table's), the database, the current user."""
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT pg_get_userbyid(c.relowner), n.nspname, current_database(), current_user"
                " FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
                " WHERE c.oid = to_regclass(%s)",
                [AuditEvent._meta.db_table],
            )
            row = cursor.fetchone()
        if row is None:
            raise CommandError(
                f"no table {AuditEvent._meta.db_table} in this database: run migrate first."
            )
        return row
