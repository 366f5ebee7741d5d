"""Monitoring's services, one module per process (callers import from
``monitoring.services``):

- ``enrolment``: consent check, enrol / end, the patient's thresholds;
- ``evaluation``: evaluation on arrival (outbox task by name) and storing the rules' answer;
- ``delivery``: routing, waiting alerts, escalation, sending notifications once;
- ``actions``: acknowledge, snooze, mute, close on enrolment's end;
- ``rota``: the on-call rota and the center's lead (imported as ``monitoring.services.rota``).

Work for a worker goes through the outbox by task name; these modules never import
``monitoring.tasks``.
"""

from monitoring.services.actions import (
    AlreadyAcknowledged,
    alert_acknowledge,
    alert_snooze,
    alerts_close_all,
    open_alerts,
    patient_mute,
)
from monitoring.services.delivery import (
    alert_deliver,
    alert_escalate,
    alerts_tick,
    message_text,
    notification_send,
)
from monitoring.services.enrolment import (
    CONSENT_TOPIC,
    NoConsent,
    enrolment_end,
    enrolment_of,
    enrolment_set,
    has_consented,
    thresholds_of,
)
from monitoring.services.evaluation import alerts_evaluate, evaluation_enqueue

__all__ = [
    "CONSENT_TOPIC",
    "AlreadyAcknowledged",
    "NoConsent",
    "alert_acknowledge",
    "alert_deliver",
    "alert_escalate",
    "alert_snooze",
    "alerts_close_all",
    "alerts_evaluate",
    "alerts_tick",
    "enrolment_end",
    "enrolment_of",
    "enrolment_set",
    "evaluation_enqueue",
    "has_consented",
    "message_text",
    "notification_send",
    "open_alerts",
    "patient_mute",
    "thresholds_of",
]
