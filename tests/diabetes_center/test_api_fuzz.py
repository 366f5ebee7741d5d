"""schemathesis over /api/schema/, in-process through the WSGI app: every operation, a bounded
number of generated requests each, as an admin (who may reach every patient). No answer may be
a 5xx, and every documented answer must match its schema."""

import pytest
import yaml
from django.core.wsgi import get_wsgi_application
from django.test import Client
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings

schemathesis = pytest.importorskip("schemathesis")  # pinned in requirements-test.txt
from schemathesis.checks import not_a_server_error  # noqa: E402
from schemathesis.specs.openapi.checks import response_schema_conformance  # noqa: E402

from tests.conftest import make_patient  # noqa: E402

EXAMPLES_PER_OPERATION = 12  # ~25 operations: keeps this test well under two minutes
CSRF = "k" * 32  # a fixed CSRF secret sent as both cookie and header, as a browser would


@pytest.fixture(autouse=True)
def keep_the_test_connection():
    """Requests through the raw WSGI app fire request_started/finished, whose
    close_old_connections would close the test's own database connection mid-test (it
    matters on PostgreSQL, where the test's transaction lives on that connection). Django's
    test client disconnects it the same way."""
    from django.core.signals import request_finished, request_started
    from django.db import close_old_connections

    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def admin_cookies(admin_user, center) -> dict:
    make_patient("FUZZ1", center=center)  # something to find besides 404s
    client = Client()
    client.force_login(admin_user)
    return {"sessionid": client.cookies["sessionid"].value, "csrftoken": CSRF}


# Transactional: requests through the raw WSGI app may close and reopen the connection, which
# must not carry the test's data in an open transaction (PostgreSQL).
@pytest.mark.django_db(transaction=True)
def test_it_answers_every_generated_request_without_a_server_error(admin_cookies):
    # The schema is for signed-in people only. Werkzeug's test client (under from_wsgi) drops
    # a hand-set Cookie header, so the schema is fetched with Django's client and given to
    # schemathesis as a dict; generated requests still go through the WSGI app with cookies.
    client = Client()
    client.cookies.load(admin_cookies)
    fetched = client.get("/api/schema/")
    assert fetched.status_code == 200, fetched.content[:200]
    schema = schemathesis.openapi.from_dict(yaml.safe_load(fetched.content))
    schema.app = get_wsgi_application()
    schema.location = "/api/schema/"
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 20
    seen = []
    failures = []
    for operation in operations:

        @given(case=operation.as_strategy())
        @hypothesis_settings(
            max_examples=EXAMPLES_PER_OPERATION,
            deadline=None,
            derandomize=True,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def check(case):
            response = case.call(headers={"X-CSRFToken": CSRF}, cookies=admin_cookies)
            seen.append(response.status_code)
            case.validate_response(
                response, checks=[not_a_server_error, response_schema_conformance]
            )

        try:
            check()
        except Exception as exc:  # collect all, report together
            failures.append(f"{operation.method.upper()} {operation.path}: {exc}"[:1500])
    assert not failures, "\n\n".join(failures)
    # The run reached the views as the admin (not only refusals at the door).
    assert sum(200 <= status < 300 for status in seen) >= len(operations)
