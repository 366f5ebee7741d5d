"""Read replicas: the heavy reads go to a PostgreSQL streaming replica, everything else to the
primary (``default``), and nobody reads something older than what they just wrote.

Off unless ``DATABASE_REPLICA_URLS`` is set (settings adds each URL as a ``replicaN`` alias,
lists them in ``DATABASE_REPLICA_ALIASES`` and installs ``ReplicaRouter``). Without it every
function here runs its work on the one database, exactly as before.

Nothing is routed by magic. A read goes to a replica only inside ``on_replica(...)`` (or the
``replica_reads()`` block it uses), which the heavy-read call sites name explicitly: the
triage queue page and the hourly triage window refresh, the population view, report
generation. Outside such a block, and for every write anywhere (``db_for_write`` is always
``default``; ``select_for_update`` and ``get_or_create`` are writes), the primary answers.
Inside an open transaction on the primary every read stays on the primary too: the
transaction's own uncommitted rows are not on any replica. Migrations run on ``default`` only.

Read-your-writes, two rules:

- **A person** (web requests, ``diabetes_center.middleware.ReadYourWritesMiddleware``): after
  a request that may have written (POST, PUT, PATCH, DELETE) the answer carries a cookie with
  the primary's WAL position at that moment (``pg_current_wal_lsn()``). While it is present,
  a heavy read uses a replica only if that replica has replayed past the position; else it
  reads the primary. The cookie is dropped once a replica was seen past it. So the person who
  just marked a patient reviewed sees it on the next page, whatever the replica's lag, while
  everyone else may read a replica a few milliseconds behind.
- **A task** (``barrier=True``): before its reads, the task asks the primary for its current
  WAL position and uses a replica only if the replica reaches it within
  ``DATABASE_REPLICA_WAIT_SECONDS``; else the primary. Everything committed before the task
  started (the import that queued a report: the outbox sends tasks after their transaction
  commits) is therefore visible to it. Tasks read the primary unless their call site says
  ``on_replica(..., barrier=True)``: report generation and the triage window refresh do.

A replica that does not answer (or is not in recovery: promoted, misconfigured) is left alone
for ``DATABASE_REPLICA_RETRY_SECONDS`` and the primary serves instead: a replica outage
degrades to the one-database setup, it never fails a page. A replica lost in the middle of
``on_replica`` makes it run its function again on the primary (the function only reads).
"""

from __future__ import annotations

import contextvars
import logging
import re
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, InterfaceError, OperationalError, connections

log = logging.getLogger(__name__)
T = TypeVar("T")

# The alias heavy reads go to inside ``replica_reads()``; None: the primary.
_reading_from: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "replica_reading_from", default=None
)
# The WAL position this request's person last wrote at (their cookie), and whether a replica
# was seen past it during the request (the cookie can go).
_pinned_at: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "replica_pinned_at", default=None
)
_caught_up: contextvars.ContextVar[bool] = contextvars.ContextVar(
    "replica_caught_up", default=False
)
# alias -> monotonic time before which it is not tried again (it failed); per process.
_down_until: dict[str, float] = {}
_next = 0

LSN = re.compile(r"^[0-9A-F]{1,8}/[0-9A-F]{1,8}$")
POLL_SECONDS = 0.02
# "canceling statement due to conflict with recovery": replay needed rows the query read.
RECOVERY_CONFLICT = "40001"


def aliases() -> list[str]:
    """The configured replica aliases (empty: one database, nothing here does anything)."""
    return list(getattr(settings, "DATABASE_REPLICA_ALIASES", ()))


def valid_lsn(value: str | None) -> str | None:
    """A WAL position as PostgreSQL prints it (``16/B374D848``), else None.

    >>> valid_lsn("16/b374d848"), valid_lsn("1; DROP TABLE x")
    ('16/B374D848', None)
    """
    if not value:
        return None
    value = value.strip().upper()
    return value if LSN.match(value) else None


class ReplicaRouter:
    """Reads inside ``replica_reads()`` go to the chosen replica; all else to ``default``."""

    def db_for_read(self, model, **hints):
        alias = _reading_from.get()
        if alias is None or connections[DEFAULT_DB_ALIAS].in_atomic_block:
            return DEFAULT_DB_ALIAS
        return alias

    def db_for_write(self, model, **hints):
        return DEFAULT_DB_ALIAS

    def allow_relation(self, obj1, obj2, **hints):
        return True  # every alias is the same database, some of them a little behind

    def allow_migrate(self, db, app_label, model_name=None, **hints):
        return db == DEFAULT_DB_ALIAS


# --- WAL positions ---------------------------------------------------------------------------


def primary_lsn() -> str | None:
    """The primary's current WAL write position (None when there are no replicas)."""
    if not aliases():
        return None
    with connections[DEFAULT_DB_ALIAS].cursor() as cursor:
        cursor.execute("SELECT pg_current_wal_lsn()::text")
        return cursor.fetchone()[0]


def _replayed(alias: str, lsn: str | None) -> bool | None:
    """Has replica ``alias`` replayed up to ``lsn`` (any position when None)?

    None when it is not a replica at all (``pg_last_wal_replay_lsn()`` is NULL outside
    recovery). Raises OperationalError/InterfaceError when it does not answer."""
    with connections[alias].cursor() as cursor:
        cursor.execute(
            "SELECT pg_last_wal_replay_lsn() IS NOT NULL,"
            " coalesce(pg_last_wal_replay_lsn() >= %s::pg_lsn, true)",
            [lsn],
        )
        standby, reached = cursor.fetchone()
    return reached if standby else None


def _mark_down(alias: str, why: object) -> None:
    _down_until[alias] = time.monotonic() + settings.DATABASE_REPLICA_RETRY_SECONDS
    try:
        connections[alias].close()
    except Exception:  # noqa: BLE001  (a dead socket may fail to close; it is gone anyway)
        pass
    log.warning("read replica %s is not used for now: %s", alias, why)


def _candidates() -> list[str]:
    """The replicas not known to be down, starting from the next in turn."""
    global _next
    now = time.monotonic()
    up = [alias for alias in aliases() if _down_until.get(alias, 0) <= now]
    if not up:
        return []
    _next = (_next + 1) % len(up)
    return up[_next:] + up[:_next]


def choose_replica(*, barrier: bool = False) -> str | None:
    """A replica alias fit for this read, or None (read the primary).

    Fit: it answers and is in recovery; it has replayed past the person's last write (their
    cookie, ``pin``); with ``barrier``, past what the primary had written when asked, waiting
    up to ``DATABASE_REPLICA_WAIT_SECONDS`` for it. Inside a transaction on the primary: None.
    """
    if not aliases() or connections[DEFAULT_DB_ALIAS].in_atomic_block:
        return None
    need = _pinned_at.get()
    if barrier:
        need = primary_lsn()
    for alias in _candidates():
        deadline = time.monotonic() + (settings.DATABASE_REPLICA_WAIT_SECONDS if barrier else 0)
        try:
            while True:
                reached = _replayed(alias, need)
                if reached is None:
                    _mark_down(alias, "not in recovery (promoted, or not a replica)")
                    break
                if reached:
                    # ``need`` is at or past the pin (the primary only moves forward).
                    _caught_up.set(_pinned_at.get() is not None)
                    return alias
                if time.monotonic() >= deadline:
                    break  # behind: the primary answers this time
                time.sleep(POLL_SECONDS)
        except (OperationalError, InterfaceError) as exc:
            _mark_down(alias, exc)
    return None


@contextmanager
def replica_reads(*, barrier: bool = False) -> Iterator[str | None]:
    """Inside the block, ORM reads go to a fit replica (``choose_replica``); writes, and every
    read while a transaction is open on the primary, to the primary. Yields the alias (None:
    the primary). Nests: an inner block keeps the outer choice."""
    if _reading_from.get() is not None:
        yield _reading_from.get()
        return
    alias = choose_replica(barrier=barrier)
    token = _reading_from.set(alias)
    try:
        yield alias
    finally:
        _reading_from.reset(token)


def on_replica(function: Callable[..., T], *args, barrier: bool = False, **kwargs) -> T:
    """``function(*args, **kwargs)`` with its reads on a replica (``replica_reads``).

    ``function`` must only read (its writes would go to the primary, but it may run twice): if
    the replica fails under it, the replica is set aside and ``function`` runs again on the
    primary. A failing primary raises as always (the 503 handler answers)."""
    with replica_reads(barrier=barrier) as alias:
        if alias is None:
            return function(*args, **kwargs)
        try:
            return function(*args, **kwargs)
        except (OperationalError, InterfaceError) as exc:
            if getattr(exc.__cause__, "sqlstate", None) == RECOVERY_CONFLICT:
                log.info("read on replica %s cancelled by replay; reading the primary", alias)
            elif connections[alias].is_usable():
                raise  # the primary's failure, or a real error: not the replica's
            else:
                _mark_down(alias, exc)
    return function(*args, **kwargs)


# --- the person's pin (web requests) ---------------------------------------------------------


def pin(lsn: str | None) -> contextvars.Token:
    """This request's person wrote at ``lsn`` (from their cookie): read no replica behind it."""
    _caught_up.set(False)
    return _pinned_at.set(valid_lsn(lsn))


def unpin(token: contextvars.Token) -> bool:
    """End the request's pin; True when a replica was seen past it (the cookie may go)."""
    caught_up = _caught_up.get() and _pinned_at.get() is not None
    _pinned_at.reset(token)
    _caught_up.set(False)
    return caught_up
