"""Per-device tokens: ``Authorization: Token dt_...``. A device may only add readings."""

from django.utils import timezone
from rest_framework import authentication, exceptions

from readings.models import DeviceToken


class DeviceUser:
    """The principal of a device-token request: not a person, bound to one patient."""

    is_authenticated = True
    is_active = True
    is_device = True
    is_superuser = False
    is_admin_role = False
    is_endocrinologist = False
    is_care_staff = False
    is_patient = False
    role = "device"
    pk = None
    id = None

    def __init__(self, token: DeviceToken):
        self.token = token
        self.patient_id = token.patient_id

    def __str__(self) -> str:
        return f"device token {self.token.name}"


class DeviceTokenAuthentication(authentication.BaseAuthentication):
    keyword = "Token"

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).split()
        if not header or header[0].lower() != self.keyword.lower().encode():
            return None
        if len(header) != 2:
            raise exceptions.AuthenticationFailed("Invalid token header.")
        key = header[1].decode(errors="replace")
        token = (
            DeviceToken.objects.filter(key_hash=DeviceToken.hash_key(key), revoked_at=None)
            .select_related("patient")
            .first()
        )
        if token is None:
            raise exceptions.AuthenticationFailed("Invalid or revoked device token.")
        DeviceToken.objects.filter(pk=token.pk).update(last_used_at=timezone.now())
        return DeviceUser(token), token

    def authenticate_header(self, request):
        return self.keyword
