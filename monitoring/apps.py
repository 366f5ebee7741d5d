from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class MonitoringConfig(AppConfig):
    name = "monitoring"
    verbose_name = _("Remote monitoring")

    def ready(self):
        from monitoring import (
            signals,  # noqa: F401  (evaluation on ingest, enrolment ends on withdrawn consent)
        )
