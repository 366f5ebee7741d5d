"""Every named route keeps its path: the URLconf is walked, every URL name reversed with sample
arguments, and the result compared with ``tests/fixtures/routes.json`` (recorded before the
apps were restructured, issue #22). The admin's routes are Django's, derived from app labels,
and are left out."""

import json
from pathlib import Path

from django.urls import URLPattern, URLResolver, get_resolver, reverse

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "routes.json"

SAMPLE = {
    "int": 7,
    "str": "sample",
    "slug": "sample-slug",
    "uuid": "12345678-1234-5678-1234-567812345678",
    "path": "a/b",
}


def _sample_for(converter) -> object:
    name = type(converter).__name__.lower().removesuffix("converter")
    return SAMPLE.get(name, "sample")


def _named_routes(resolver=None, namespace="", converters=None):
    resolver = resolver or get_resolver()
    converters = dict(converters or {})
    for entry in resolver.url_patterns:
        own = dict(converters)
        own.update(entry.pattern.converters)
        if isinstance(entry, URLResolver):
            if entry.namespace == "admin":
                continue
            inner = f"{namespace}{entry.namespace}:" if entry.namespace else namespace
            yield from _named_routes(entry, inner, own)
        elif isinstance(entry, URLPattern) and entry.name:
            yield f"{namespace}{entry.name}", {k: _sample_for(c) for k, c in own.items()}


def current_routes() -> dict[str, str]:
    routes = {}
    for name, kwargs in _named_routes():
        if name not in routes:  # reverse() answers with the first pattern of a name
            routes[name] = reverse(name, kwargs=kwargs)
    return dict(sorted(routes.items()))


def test_it_keeps_every_named_route_at_its_recorded_path():
    assert current_routes() == json.loads(FIXTURE.read_text())
