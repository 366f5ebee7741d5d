"""Project-wide guarantees about every page: which HTTP methods it answers, which headers."""

import re

import pytest
from django.urls import URLPattern, URLResolver, get_resolver, reverse

# Prefixes that are not our pages: the APIs (DRF answers 405 for undeclared methods itself),
# the Nightscout mirror, Django's admin and language switch.
NOT_PAGES = ("api/", "ns/", "admin/", "i18n/", "static/")


def _page_names(
    resolver=None, prefix: str = "", namespace: str = ""
) -> list[tuple[str, list[str]]]:
    """(url name, argument names) of every page in the URL configuration; a namespaced name
    as ``reverse`` takes it (``visits:self_book``)."""
    found = []
    for entry in (resolver or get_resolver()).url_patterns:
        route = prefix + str(entry.pattern)
        if route.startswith(NOT_PAGES):
            continue
        if isinstance(entry, URLResolver):
            inner = f"{namespace}{entry.namespace}:" if entry.namespace else namespace
            found += _page_names(entry, route, inner)
        elif isinstance(entry, URLPattern) and entry.name:
            found.append((f"{namespace}{entry.name}", list(entry.pattern.converters)))
    return found


PAGES = _page_names()


def test_it_finds_the_pages():
    names = {name for name, _ in PAGES}
    assert {"home", "patients-detail", "reports-detail", "readings-upload"} <= names


@pytest.mark.django_db
@pytest.mark.parametrize(("name", "args"), PAGES)
@pytest.mark.parametrize("method", ["delete", "put", "patch"])
def test_it_refuses_methods_a_page_does_not_mean(client, admin_user, name, args, method):
    client.force_login(admin_user)
    url = reverse(name, kwargs={arg: 1 for arg in args})
    assert getattr(client, method)(url).status_code == 405, url


def _api_routes(resolver=None, prefix: str = "") -> list[tuple[str, list[str]]]:
    found = []
    for entry in (resolver or get_resolver()).url_patterns:
        route = prefix + str(entry.pattern)
        if isinstance(entry, URLResolver):
            if route.startswith("api/v1/") or "api/v1/".startswith(route):
                found += _api_routes(entry, route)
        elif isinstance(entry, URLPattern) and entry.name and route.startswith("api/v1/"):
            found.append((entry.name, list(entry.pattern.converters)))
    return found


NESTED = "[" * 100_000 + "]" * 100_000


@pytest.mark.django_db
def test_it_answers_deeply_nested_json_with_400_on_every_api_endpoint(admin_user, patient):
    from django.test import Client

    client = Client(raise_request_exception=False)
    client.force_login(admin_user)
    routes = _api_routes()
    assert len(routes) > 10
    for name, args in routes:
        url = reverse(name, kwargs={arg: patient.pk for arg in args})
        for method in ("post", "put", "patch"):
            response = getattr(client, method)(url, NESTED, content_type="application/json")
            assert response.status_code < 500, (method, url, response.status_code)
    create = client.post(reverse("api-patients-list"), NESTED, content_type="application/json")
    assert create.status_code == 400 and "nested" in create.json()["detail"]


INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)(?![^>]*type=\"application/json\")[^>]*>", re.I)
EVENT_HANDLER = re.compile(r"<[^>]+\son[a-z]+\s*=", re.I)


@pytest.fixture
def clinic(alice, patient):
    from reports.services import report_generate
    from tests.reports.conftest import PERIOD_END, PERIOD_START, grid, known_day_values, load

    values = list(known_day_values()) * 14
    load(patient, grid(PERIOD_START, 14), values)
    report = report_generate(patient_id=patient.pk, period_end=PERIOD_END)
    return {"patient": patient.pk, "report": report.pk}


@pytest.mark.django_db
def test_it_sends_a_strict_policy_and_no_store_with_every_page(client, alice, clinic):
    client.force_login(alice)
    pages = [
        "/accounts/login/",
        "/patients/",
        f"/patients/{clinic['patient']}/",
        f"/patients/{clinic['patient']}/day/",
        f"/patients/{clinic['patient']}/reports/",
        f"/patients/{clinic['patient']}/plan/",
        f"/patients/{clinic['patient']}/files/",
        f"/patients/{clinic['patient']}/access/",
        f"/patients/{clinic['patient']}/upload/",
        f"/patients/{clinic['patient']}/care-plan/",
        f"/reports/{clinic['report']}/",
        "/reports/unread/",
        "/accounts/preferences/",
        "/api/docs/",
    ]
    for url in pages:
        response = client.get(url)
        assert response.status_code == 200, url
        policy = response["Content-Security-Policy"]
        script_src = next(p for p in policy.split(";") if p.strip().startswith("script-src"))
        assert script_src.split() == ["script-src", "'self'"], url
        assert "no-store" in response["Cache-Control"], url
        html = response.content.decode()
        assert not INLINE_SCRIPT.search(html), (url, INLINE_SCRIPT.search(html))
        assert not EVENT_HANDLER.search(html), (url, EVENT_HANDLER.search(html))


@pytest.mark.django_db
def test_it_forbids_caching_of_every_answer_with_patient_data(client, alice, clinic):
    from readings.services import nightscout_link_ensure

    client.force_login(alice)
    patient, report = clinic["patient"], clinic["report"]
    answers = [
        f"/api/v1/patients/{patient}/",
        f"/api/v1/patients/{patient}/readings/",
        f"/api/v1/patients/{patient}/metrics/",
        f"/api/v1/patients/{patient}/export/?format=csv",
        f"/api/v1/reports/{report}/",
        f"/api/v1/reports/{report}/fhir/",
        f"/reports/{report}/pdf/",
    ]
    for url in answers:
        response = client.get(url)
        assert response.status_code == 200, url
        assert "no-store" in response["Cache-Control"], url
    client.force_login(alice.assigned_patients.get().user)  # the whole record: the patient's
    for fmt in ("fhir", "zip"):
        response = client.get(f"/api/v1/patients/{patient}/export/?format={fmt}")
        assert response.status_code == 200 and "no-store" in response["Cache-Control"], fmt
    link = nightscout_link_ensure(patient=alice.assigned_patients.get())
    response = client.get(f"/ns/{link.key}/api/v1/entries.json", {"token": link.api_secret})
    assert response.status_code == 200 and "no-store" in response["Cache-Control"]


@pytest.mark.django_db
def test_it_shows_the_api_schema_and_docs_to_signed_in_people_only(client, alice):
    assert client.get(reverse("api-schema")).status_code in (401, 403)
    docs = client.get(reverse("api-docs"))
    assert docs.status_code == 302 and "/accounts/login/" in docs["Location"]
    client.force_login(alice)
    assert client.get(reverse("api-schema")).status_code == 200
    assert client.get(reverse("api-docs")).status_code == 200


def test_it_keeps_tokens_out_of_log_lines():
    import logging

    from diabetes_center.logging import RedactSecrets

    record = logging.LogRecord(
        "django.server",
        logging.INFO,
        __file__,
        1,
        '"%s" %s',
        ("GET /ns/k/x?token=dt_s3 HTTP/1.1", 200),
        None,
    )
    assert RedactSecrets().filter(record)
    assert "dt_s3" not in record.getMessage() and "token=[redacted]" in record.getMessage()
    handler_filters = logging.getLogger("django.server").handlers[0].filters
    assert any(isinstance(f, RedactSecrets) for f in handler_filters)


def test_it_lets_sqlite_readers_and_writers_share_the_embedded_database():
    """WAL (readers never wait for a writer) and a busy timeout (a writer waits its turn
    instead of failing with "database is locked") on the embedded default."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL",)}
    env["DJANGO_SETTINGS_MODULE"] = "diabetes_center.settings"
    code = (
        "import django; django.setup(); from django.conf import settings; "
        "o = settings.DATABASES['default']['OPTIONS']; "
        "print(o['init_command']); print(o['timeout'])"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        cwd=Path(__file__).resolve().parent.parent,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.splitlines()
    assert "journal_mode=WAL" in out[0] and int(out[1]) >= 5
