"""Shared personas, as in healthchecks' hc/test.py: one care center, two endocrinologists,
staff, an admin, and patients assigned to Alice (endocrinologist) and Bob."""

import datetime as dt

import pytest

from accounts.models import CareCenter, User
from patients.models import Patient

PASSWORD = "correct-horse-battery"


def make_user(username: str, role: str, center=None, **extra) -> User:
    return User.objects.create_user(
        username=username, password=PASSWORD, role=role, care_center=center, **extra
    )


@pytest.fixture
def center(db):
    return CareCenter.objects.create(name="North Clinic", timezone="Europe/London")


@pytest.fixture
def other_center(db):
    return CareCenter.objects.create(name="South Clinic")


@pytest.fixture
def alice(center):
    return make_user("alice", "endocrinologist", center, first_name="Alice")


@pytest.fixture
def bob(center):
    return make_user("bob", "endocrinologist", center, first_name="Bob")


@pytest.fixture
def staff(center):
    return make_user("sam", "staff", center)


@pytest.fixture
def other_staff(other_center):
    return make_user("olga", "staff", other_center)


@pytest.fixture
def admin_user(db):
    return make_user("ada", "admin", None, is_staff=True, is_superuser=True)


def make_patient(mrn: str, *, center=None, endocrinologists=(), user=None, **extra) -> Patient:
    fields = {
        "name": f"Patient {mrn}",
        "birth_date": dt.date(1980, 1, 1),
        "diabetes_type": "T1",
        "timezone": "UTC",
    }
    fields.update(extra)
    patient = Patient.objects.create(mrn=mrn, care_center=center, user=user, **fields)
    patient.endocrinologists.set(endocrinologists)
    return patient


@pytest.fixture
def patient_user(center):
    return make_user("pat", "patient", center)


@pytest.fixture
def patient(center, alice, patient_user):
    return make_patient("MRN001", center=center, endocrinologists=[alice], user=patient_user)


@pytest.fixture
def other_patient_user(center):
    return make_user("otto", "patient", center)


@pytest.fixture
def other_patient(center, bob, other_patient_user):
    return make_patient("MRN002", center=center, endocrinologists=[bob], user=other_patient_user)


def pytest_addoption(parser):
    parser.addoption(
        "--fake-now",
        metavar="ISO",
        help="run the whole session under a clock that starts at this instant and ticks "
        "(time-machine), e.g. 2028-02-29T12:00Z: the CI date matrix (scripts/date-matrix). "
        "A test that sets its own clock still wins.",
    )


def pytest_configure(config):
    start = config.getoption("--fake-now", default=None)
    if start:
        import time_machine

        traveller = time_machine.travel(dt.datetime.fromisoformat(start), tick=True)
        traveller.start()
        config.add_cleanup(traveller.stop)


def pytest_report_header(config):
    start = config.getoption("--fake-now", default=None)
    return f"fake clock from {start}" if start else None


def pytest_collection_modifyitems(config, items):
    """Tests marked ``broker`` need a real Celery worker on Redis and PostgreSQL.

    They run in .ci/run's second phase (REQUIRE_REAL_SERVICES=1), where a missing service is a
    failure, not a skip. On the embedded defaults they are deselected, and the run says so.
    """
    import os

    real = os.environ.get("DATABASE_URL", "").startswith("postgres") and os.environ.get(
        "CELERY_BROKER_URL", ""
    ).startswith("redis")
    if real or os.environ.get("REQUIRE_REAL_SERVICES") == "1":
        return
    broker = [item for item in items if item.get_closest_marker("broker")]
    if broker:
        items[:] = [item for item in items if not item.get_closest_marker("broker")]
        config.hook.pytest_deselected(items=broker)
        print(
            f"\n{len(broker)} broker tests deselected: they need DATABASE_URL=postgres://… and "
            "CELERY_BROKER_URL=redis://… (.ci/run runs them)."
        )
