"""Fault-test fixtures: a private Redis broker that the test may stop and start, and the
app's database role for the workers (production's: README, "Production")."""

from collections.abc import Iterator

import pytest

from tests.accounts import app_role as roles
from tests.faults.servers import PrivateRedis
from tests.reports.conftest import load_simulated  # noqa: F401  (fixtures shared with reports)
from tests.visits.conftest import clinic, follow_up, room  # noqa: F401


def _use_broker(app, url: str) -> None:
    """Point this process's Celery app at ``url`` (its connection pools are made anew).

    kombu keeps producer pools in a registry of its own, keyed by broker URL: closing the app's
    pool closes the one registered for the old URL too, and without ``pools.reset()`` every
    later test that sends to that URL meets "Acquire on closed pool"."""
    from kombu import pools

    if app._pool is not None:
        app._pool.force_close_all()
    pools.reset()
    app._pool = None
    app.amqp._producer_pool = None
    # Celery prefers the CELERY_BROKER_URL environment variable to ``broker_url``; the write
    # and read URLs come first.
    app.conf.broker_write_url = app.conf.broker_read_url = url


@pytest.fixture
def private_redis(tmp_path):
    """A redis-server of this test's own, and this process sending its messages to it."""
    from diabetes_center.celery import app

    redis = PrivateRedis(tmp_path)
    redis.start()
    saved = app.conf.get("broker_write_url"), app.conf.task_always_eager
    app.conf.task_always_eager = False
    _use_broker(app, redis.url)
    try:
        yield redis
    finally:
        _use_broker(app, saved[0])
        app.conf.task_always_eager = saved[1]
        redis.stop()


@pytest.fixture
def app_role(transactional_db) -> Iterator[roles.AppRole]:
    """The app role on the test database (``db_roles --apply``), dropped afterwards: workers
    connect with its ``url`` as production's do, while the test itself stays the owner."""
    with roles.app_role() as role:
        yield role
