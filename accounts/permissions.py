from rest_framework.permissions import BasePermission


class IsPerson(BasePermission):
    """Signed-in people; device tokens may only add readings (see readings.api)."""

    message = "Device tokens may only add readings."

    def has_permission(self, request, view):
        user = request.user
        return bool(user and user.is_authenticated and not getattr(user, "is_device", False))
