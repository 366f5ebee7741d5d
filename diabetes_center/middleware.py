"""Response headers that every dynamic answer carries.

- ``Content-Security-Policy``: scripts only from our own static files (no inline script, no
  eval): page behaviour lives in ``static/js/``, figure data in ``<script type=
  "application/json">`` elements, which are data. Inline ``style`` attributes stay allowed
  (Plotly positions its SVG with them).
- ``Cache-Control: no-store`` (Django's ``never_cache`` set): pages, API answers, CSV, PDF,
  FHIR and Nightscout answers hold patient data that no browser or proxy cache should keep.
  Static files are answered by WhiteNoise before this middleware and stay cacheable.

A view that sets its own ``Cache-Control`` or CSP keeps it.
"""

from django.conf import settings
from django.utils.cache import add_never_cache_headers


class SecurityHeadersMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response
        self.policy = "; ".join(
            f"{directive} {sources}" for directive, sources in settings.CONTENT_SECURITY_POLICY
        )

    def __call__(self, request):
        response = self.get_response(request)
        if "Content-Security-Policy" not in response:
            response["Content-Security-Policy"] = self.policy
        if "Cache-Control" not in response:
            add_never_cache_headers(response)
        return response
