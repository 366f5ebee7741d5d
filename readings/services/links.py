"""Device tokens and the patient's Nightscout link (key, hashed secret, base URL)."""

from __future__ import annotations

import secrets

from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from readings.models import NightscoutLink


@transaction.atomic
def device_token_issue(*, patient, name: str, scope: str, by) -> tuple:
    """Issue a device token, audited; a read token is the patient's consent to share with
    follower apps, recorded with it (one transaction: no token without its consent).
    Returns ``(token, plain key)``; the key exists only in this answer."""
    from accounts.access import audit
    from patients.consent import consent_record
    from readings.models import DeviceToken

    token, key = DeviceToken.issue(patient=patient, name=name, scope=scope)
    audit(by, patient, "change", f"device token {token.pk} issued ({token.scope})")
    if token.scope == DeviceToken.Scope.READ:  # the box the patient ticked is their consent
        consent_record(patient=patient, topic="follower_apps", given=True, by=by)
    return token, key


def nightscout_link_ensure(*, patient) -> NightscoutLink:
    """The patient's Nightscout link, created on first use (key and secret are random).

    Only a link created by this call carries its plain secret (``link.api_secret``); an
    existing one has ``api_secret = None``: the secret is stored hashed and cannot be shown
    again (``nightscout_link_rotate`` issues a new one).
    """
    link = NightscoutLink.objects.filter(patient=patient).first()
    if link is None:
        fresh = NightscoutLink(patient=patient, key=secrets.token_hex(12))
        secret = fresh.set_secret()
        link, created = NightscoutLink.objects.get_or_create(
            patient=patient, defaults={"key": fresh.key, "secret_hash": fresh.secret_hash}
        )
        if created:
            link.api_secret = secret
    return link


def nightscout_link_rotate(*, patient) -> NightscoutLink:
    """A new API secret (on ``link.api_secret``, this once); the key (and so the base URL)
    stays, the old secret stops working."""
    link = nightscout_link_ensure(patient=patient)
    link.set_secret()
    link.rotated_at = timezone.now()
    link.save(update_fields=["secret_hash", "rotated_at"])
    return link


def nightscout_base_url(link: NightscoutLink) -> str:
    """Absolute base URL an uploader app is given (``SITE_URL`` + ``/ns/<key>/``)."""
    return settings.SITE_URL + reverse("nightscout-root", args=[link.key])
