"""An app role on the test database, made by ``manage.py db_roles --apply``, always dropped.

Roles belong to the whole PostgreSQL cluster, which other test runs on this machine share:
each role's name carries the test database's name and this process's id, and the role (with
its privileges, ``DROP OWNED BY``) is dropped whatever happens in between. The test's own
connection stays the owner's (it creates, migrates and flushes the test database); code that
should run as the app role runs inside ``connected_as`` or in a subprocess given ``url``.
"""

import contextlib
import os
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from io import StringIO

from django.core.management import call_command
from django.db import connection


@dataclass(frozen=True)
class AppRole:
    name: str
    password: str

    @property
    def url(self) -> str:
        """DATABASE_URL of the test database as this role (for web servers and workers)."""
        s = connection.settings_dict
        return (
            f"postgres://{self.name}:{self.password}@{s['HOST'] or '127.0.0.1'}:"
            f"{s['PORT'] or 5432}/{s['NAME']}"
        )


def unique_role_name() -> str:
    """``<test database>_app_<pid>``: unique among concurrent runs, at most 63 bytes."""
    suffix = f"_app_{os.getpid()}"
    return connection.settings_dict["NAME"][: 63 - len(suffix)] + suffix


@contextlib.contextmanager
def app_role() -> Iterator[AppRole]:
    """Create the app role with the command (as the owner) and drop it afterwards."""
    role = AppRole(unique_role_name(), secrets.token_urlsafe(18))
    try:
        call_command(
            "db_roles", "--app-role", role.name, f"--password={role.password}", "--apply",
            stdout=StringIO(),
        )  # fmt: skip
        yield role
    finally:
        drop_role(role.name)


def drop_role(name: str) -> None:
    """Drop ``name`` and everything granted to it here (the connection must be the owner's)."""
    connection.close()  # a fresh connection, not one a failed test left in a broken state
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [name])
        if cursor.fetchone():
            quoted = '"' + name.replace('"', '""') + '"'
            cursor.execute(f"DROP OWNED BY {quoted}")
            cursor.execute(f"DROP ROLE {quoted}")


@contextlib.contextmanager
def connected_as(role: AppRole) -> Iterator[None]:
    """Django's default connection logs in as ``role`` inside the block, as the owner after."""
    settings = connection.settings_dict
    saved = settings["USER"], settings["PASSWORD"]
    connection.close()
    settings["USER"], settings["PASSWORD"] = role.name, role.password
    try:
        yield
    finally:
        connection.close()
        settings["USER"], settings["PASSWORD"] = saved
