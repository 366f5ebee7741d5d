"""Request throttles: anonymous clients by address, people by account, devices by token.

Rates come from ``settings.THROTTLE_RATES`` when a request is checked (not when the class is
defined), so an environment variable or a test's ``override_settings`` changes them.
"""

from django.conf import settings
from django.core.cache import cache
from rest_framework.throttling import SimpleRateThrottle


class _SettingsRateThrottle(SimpleRateThrottle):
    def get_rate(self):
        return settings.THROTTLE_RATES[self.scope]

    def __init__(self):  # the rate is read per request, see get_rate
        self.rate = self.get_rate()
        self.num_requests, self.duration = self.parse_rate(self.rate)


class AnonymousThrottle(_SettingsRateThrottle):
    scope = "anonymous"

    def get_cache_key(self, request, view):
        if request.user and request.user.is_authenticated:
            return None
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}


class PersonThrottle(_SettingsRateThrottle):
    scope = "person"

    def get_cache_key(self, request, view):
        user = request.user
        if not (user and user.is_authenticated) or getattr(user, "is_device", False):
            return None
        return self.cache_format % {"scope": self.scope, "ident": user.pk}


class DeviceThrottle(_SettingsRateThrottle):
    """Per device token: one chatty uploader cannot starve the others."""

    scope = "device"

    def get_cache_key(self, request, view):
        user = request.user
        if not getattr(user, "is_device", False):
            return None
        return self.cache_format % {"scope": self.scope, "ident": user.token.pk}


def failure_limited(kind: str, ident: str) -> bool:
    """Has ``ident`` (a client address) used up its failures of ``kind`` for now?

    >>> failure_limited("nightscout-auth-failure", "203.0.113.9")  # doctest: +SKIP
    False
    """
    limit, seconds = SimpleRateThrottle.parse_rate(None, settings.THROTTLE_RATES[kind])
    return cache.get(f"failures:{kind}:{ident}", 0) >= limit


def failure_count(kind: str, ident: str) -> None:
    """Count one failure of ``kind`` from ``ident``; the window starts at the first failure."""
    _, seconds = SimpleRateThrottle.parse_rate(None, settings.THROTTLE_RATES[kind])
    key = f"failures:{kind}:{ident}"
    if not cache.add(key, 1, timeout=seconds):
        try:
            cache.incr(key)
        except ValueError:  # expired between add and incr
            cache.add(key, 1, timeout=seconds)
