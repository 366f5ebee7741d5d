"""What readings tells the floors above, and how it reacts to the patient record below.

``readings_changed`` is sent (synchronously, inside the caller's transaction) when a
patient's stored readings or rollups changed: the workspace keeps its triage entry from them,
and remote monitoring evaluates new readings (``monitoring.signals``) — readings never names
either.
Readings also receives ``patients.consent.consent_changed``: withdrawing "follower_apps"
revokes the patient's read-scope device tokens.
"""

from django.dispatch import Signal, receiver
from django.utils import timezone

from patients.consent import consent_changed

# sender=None, patient_id=int; from ingest also span=(first, last): the instants of the batch's
# readings (monitoring evaluates them; a rollup rebuild sends no span).
readings_changed = Signal()


@receiver(consent_changed, dispatch_uid="readings-consent-tokens")
def consent_revokes_read_tokens(sender, *, patient, topic, given, **kwargs) -> int:
    """Withdrawn "follower_apps": revoke the read tokens; answers how many were revoked."""
    from readings.models import DeviceToken

    if topic != "follower_apps" or given:
        return 0
    return DeviceToken.objects.filter(
        patient=patient, scope=DeviceToken.Scope.READ, revoked_at=None
    ).update(revoked_at=timezone.now())
