"""What a patient consents to, in which words, and what giving or withdrawing does.

Each topic has a current wording with a version; a decision stores both (``Consent.text`` is
the wording as shown, in the reader's language), so "what did I agree to, and when" has an
exact answer even after the wording changes. A new wording gets a new version here; the old
decisions keep theirs.

What a decision does:
- ``care`` — given: recorded. Withdrawn: recorded and shown to the care team on the patient's
  workspace and privacy page. Nothing is deleted or hidden: the care team must still be able
  to read the record they are responsible for. Erasing the data is a separate request that an
  administrator carries out (``workspace.erasure.patient_erase``).
- ``remote_monitoring`` — given: a clinician of the care team may enrol the patient in remote
  monitoring (``monitoring``: alerts to the care team on urgent lows, predicted lows, long
  highs and silences). Withdrawn: the enrolment ends at once (``monitoring.signals``) and no
  new alert is raised; past alerts stay in the record.
- ``follower_apps`` — given when the patient issues a read-scope device token (the box they
  tick) or here. Withdrawn: every read-scope token of the patient is revoked at once.
"""

from django.db import transaction
from django.dispatch import Signal
from django.utils.translation import gettext_lazy as _

from accounts.access import audit
from patients.models import Consent, Patient

# Sent inside the decision's transaction with patient, topic and given; a receiver may answer
# a count of what it revoked (readings.signals revokes read tokens), added to the audit line.
consent_changed = Signal()

TOPICS = {
    Consent.Topic.CARE: {
        "version": "2026-11",
        "text": _(
            "I agree that my care center and the clinicians on my care team store and use my "
            "glucose readings, treatments, reports, care plans and visits to look after my "
            "diabetes. Every look at my record by someone else is logged, and I can see that "
            "log. I can withdraw this at any time; my data is erased only if I ask for it."
        ),
    },
    Consent.Topic.FOLLOWER_APPS: {
        "version": "2026-11",
        "text": _(
            "I understand that an app with this token can read all my glucose readings, "
            "treatments and device status until I revoke it."
        ),
    },
    Consent.Topic.REMOTE_MONITORING: {
        "version": "2026-12",
        "text": _(
            "I agree that my care center watches my glucose readings as they arrive and alerts "
            "my care team when they show an urgent or predicted low, a long high, or no data "
            "for hours. The clinic watches during its service hours, and outside them only if "
            "a clinician is on call; it may not see an alert at once. My own CGM app's alarms "
            "remain my first safety net. I can withdraw this at any time; monitoring then stops."
        ),
    },
}


def consent_record(*, patient: Patient, topic: str, given: bool, by) -> Consent:
    """Record a decision on ``topic`` with the current wording; withdrawing "follower_apps"
    revokes the patient's read-scope device tokens. Audited (a change to the record)."""
    wording = TOPICS[Consent.Topic(topic)]
    with transaction.atomic():
        consent = Consent.objects.create(
            patient=patient,
            topic=topic,
            version=wording["version"],
            text=str(wording["text"]),
            given=given,
            by=by if getattr(by, "pk", None) else None,
            by_name=getattr(by, "username", "") or "",
        )
        # Readings revokes the read tokens of a withdrawn "follower_apps" (readings.signals).
        answers = consent_changed.send(sender=Consent, patient=patient, topic=topic, given=given)
        revoked = sum(answer for _receiver, answer in answers if isinstance(answer, int))
        what = f"consent {topic} v{consent.version} {'given' if given else 'withdrawn'}"
        if revoked:
            what += f", {revoked} read tokens revoked"
        audit(by, patient, "change", what)
    return consent


def consent_rows(patient: Patient) -> list[dict]:
    """One row per topic for a page: its wording now and the patient's newest decision."""
    current = Consent.current_for(patient)
    return [
        {
            "topic": topic,
            "label": topic.label,
            "version": wording["version"],
            "text": wording["text"],
            "decision": current.get(topic.value),
        }
        for topic, wording in TOPICS.items()
    ]
