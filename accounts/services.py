"""Account processes that span models."""

from django.db import transaction
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.models import User


def two_factor_enrol(*, user: User, device: TOTPDevice, recovery_codes: int) -> list[str]:
    """Confirm ``device`` as the user's one authenticator and issue fresh recovery codes.

    Earlier authenticators and recovery codes stop working. Returns the codes (shown once;
    django-otp stores them for single use).
    """
    with transaction.atomic():
        TOTPDevice.objects.filter(user=user).exclude(pk=device.pk).delete()
        device.confirmed = True
        device.save(update_fields=["confirmed"])
        StaticDevice.objects.filter(user=user).delete()
        recovery = StaticDevice.objects.create(user=user, name="recovery codes", confirmed=True)
        codes = [StaticToken.random_token() for _ in range(recovery_codes)]
        StaticToken.objects.bulk_create(StaticToken(device=recovery, token=c) for c in codes)
    return codes
