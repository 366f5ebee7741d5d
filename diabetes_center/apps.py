from django.apps import AppConfig


def admins_to_notify(now):
    """The active administrators: told when alerting is degraded (``outbox.health``)."""
    from django.db.models import Q

    from accounts.models import User

    return User.objects.filter(Q(role=User.Role.ADMIN) | Q(is_superuser=True), is_active=True)


class DiabetesCenterConfig(AppConfig):
    """The project package: it composes the apps, so it wires the hooks a lower app offers
    to a sibling it may not import (the outbox's degraded-alerting notice → the admins of
    ``accounts``)."""

    name = "diabetes_center"
    verbose_name = "Diabetes Center"

    def ready(self):
        from outbox.health import register_notice_recipients

        register_notice_recipients(admins_to_notify)
