"""Project-wide guarantees about every page: which HTTP methods it answers, which headers."""

import pytest
from django.urls import URLPattern, URLResolver, get_resolver, reverse

# Prefixes that are not our pages: the APIs (DRF answers 405 for undeclared methods itself),
# the Nightscout mirror, Django's admin and language switch.
NOT_PAGES = ("api/", "ns/", "admin/", "i18n/", "static/")


def _page_names(resolver=None, prefix: str = "") -> list[tuple[str, list[str]]]:
    """(url name, argument names) of every page in the URL configuration."""
    found = []
    for entry in (resolver or get_resolver()).url_patterns:
        route = prefix + str(entry.pattern)
        if route.startswith(NOT_PAGES):
            continue
        if isinstance(entry, URLResolver):
            found += _page_names(entry, route)
        elif isinstance(entry, URLPattern) and entry.name:
            found.append((entry.name, list(entry.pattern.converters)))
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
