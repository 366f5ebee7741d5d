from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class MonitoringConfig(AppConfig):
    name = "monitoring"
    verbose_name = _("Remote monitoring")

    def ready(self):
        from common.metrics import register_collector
        from monitoring import (
            signals,  # noqa: F401  (evaluation on ingest, enrolment ends on withdrawn consent)
        )
        from monitoring.operations import AlertsCollector, on_call_now
        from outbox.health import register_notice_recipients

        register_notice_recipients(on_call_now)
        register_collector(AlertsCollector())
