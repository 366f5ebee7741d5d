"""How monitoring reacts to the floors below, without their knowing about it.

- ``readings.signals.readings_changed`` (sent by ``readings_ingest`` inside the ingest's
  transaction, with the ``span`` of the readings it was given): an enrolled patient's new
  readings are evaluated by ``monitoring.tasks.evaluate_patient``, recorded in the outbox in
  the same transaction and sent once it commits (a lost broker loses nothing). Every ingest
  path ends there: Nightscout entries, REST batches, device files, FHIR, the demo seeder.
- ``patients.consent.consent_changed``: withdrawing ``remote_monitoring`` ends the enrolment.
"""

from django.dispatch import receiver

from monitoring.services import enrolment_end, evaluation_enqueue
from patients.consent import consent_changed
from readings.signals import readings_changed


@receiver(readings_changed, dispatch_uid="monitoring-readings-arrived")
def readings_arrived(sender, *, patient_id, span=None, **kwargs) -> None:
    """New readings (``span``: (first, last) instants of the batch); a rollup rebuild sends
    no span and needs no evaluation."""
    if span is not None:
        evaluation_enqueue(patient_id=patient_id, span=span)


@receiver(consent_changed, dispatch_uid="monitoring-consent-withdrawn")
def consent_withdrawn(sender, *, patient, topic, given, **kwargs) -> int:
    """Withdrawn ``remote_monitoring``: the enrolment ends (answers 0: nothing revoked)."""
    if topic == "remote_monitoring" and not given:
        enrolment_end(patient=patient, reason="consent withdrawn")
    return 0
