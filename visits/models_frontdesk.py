"""The front desk's recall records: how a patient wants to be contacted about visits, and
each outreach attempt (called, left a message, no answer, invite sent, declined).

Kept beside the visit models (``visits.models`` imports these at its end, so Django finds
them) in their own module: they belong to the recall list (``visits.services.outreach``),
not to the visit's life.

Why the preferred channel lives here and not on ``patients.Patient``: it is the front desk's
note of how to reach someone about appointments ("texts, never calls"), written by staff when
they reach the patient, like the outreach log it sits with; the patient record keeps the
contact details themselves (phone, e-mail, language). Without a note, the channel follows
from the details the record has (``visits.services.outreach.preferred_channel``).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class Channel(models.TextChoices):
    PHONE = "phone", _("Phone call")
    SMS = "sms", _("SMS")
    EMAIL = "email", _("E-mail")
    IN_APP = "in_app", _("In the app")


class Outcome(models.TextChoices):
    REACHED = "reached", _("Reached")
    LEFT_MESSAGE = "left_message", _("Left a message")
    NO_ANSWER = "no_answer", _("No answer")
    INVITE_SENT = "invite_sent", _("Booking invite sent")
    DECLINED = "declined", _("Declined")


class ContactPreference(models.Model):
    """How the patient wants the care center to reach them about visits (see module doc)."""

    patient = models.OneToOneField(
        "patients.Patient", on_delete=models.CASCADE, related_name="contact_preference"
    )
    channel = models.CharField(_("preferred channel"), max_length=10, choices=Channel.choices)
    updated_at = models.DateTimeField(auto_now=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        verbose_name = _("contact preference")


class OutreachAttempt(models.Model):
    """One attempt to get a due patient booked. Append-only, newest last; the latest since
    the patient was last seen is their "outreach state" on the worklist.

    A booking invite (outcome ``invite_sent``) carries the text sent, in the patient's
    language, and ``sent_at`` once the message task has sent it (claimed by a conditional
    update, so it goes out once: ``visits.services.outreach.booking_invite_deliver``).
    """

    patient = models.ForeignKey(
        "patients.Patient", on_delete=models.CASCADE, related_name="outreach_attempts"
    )
    channel = models.CharField(_("channel"), max_length=10, choices=Channel.choices)
    outcome = models.CharField(_("outcome"), max_length=12, choices=Outcome.choices)
    note = models.CharField(_("note"), max_length=300, blank=True)
    retry_on = models.DateField(_("try again on"), null=True, blank=True)
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    at = models.DateTimeField(_("when"), default=timezone.now, db_index=True)
    # Booking invites only: the message and when it went out.
    subject = models.CharField(max_length=200, blank=True)
    text = models.TextField(blank=True)
    link = models.CharField(max_length=300, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    sent_channels = models.CharField(max_length=40, blank=True)
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["patient", "at", "pk"]
        verbose_name = _("outreach attempt")
        indexes = [models.Index(fields=["patient", "-at"], name="outreach_latest")]
        constraints = [
            models.CheckConstraint(
                condition=Q(outcome__in=[o.value for o in Outcome]), name="outreach_outcome"
            ),
            models.CheckConstraint(
                condition=Q(channel__in=[c.value for c in Channel]), name="outreach_channel"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.patient_id} {self.at:%Y-%m-%d} {self.channel} {self.outcome}"


class WaitlistEntry(models.Model):
    """A patient waiting for an earlier visit of a type (with one clinician, or any): when a
    matching visit is cancelled, its time is offered to them (``WaitlistOffer``)."""

    patient = models.ForeignKey(
        "patients.Patient", on_delete=models.CASCADE, related_name="waitlist_entries"
    )
    visit_type = models.ForeignKey("visits.VisitType", on_delete=models.CASCADE, related_name="+")
    clinician = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now)
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["created_at", "pk"]
        verbose_name = _("waiting-list entry")
        constraints = [
            models.UniqueConstraint(
                fields=["patient", "visit_type"],
                condition=Q(active=True),
                name="waitlist_one_active_per_type",
            )
        ]


class WaitlistOffer(models.Model):
    """A freed time offered to one waiting patient. Every waiting patient gets the offer; the
    first to accept books it through ``visit_book`` (the database's no-double-booking rule
    decides between two at once); the others' offers are then "taken"."""

    class Status(models.TextChoices):
        OPEN = "open", _("Open")
        ACCEPTED = "accepted", _("Accepted")
        TAKEN = "taken", _("Taken by someone else")

    entry = models.ForeignKey(WaitlistEntry, on_delete=models.CASCADE, related_name="offers")
    clinician = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+"
    )
    start_at = models.DateTimeField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    created_at = models.DateTimeField(default=timezone.now)
    visit = models.ForeignKey(
        "visits.Visit", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # The message offering the time, in the patient's language (read in the app as well), and
    # when it went out (claimed by a conditional update, so it goes out once).
    subject = models.CharField(max_length=200, blank=True)
    text = models.TextField(blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    channels = models.CharField(max_length=40, blank=True)

    class Meta:
        ordering = ["start_at", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["entry", "clinician", "start_at"], name="waitlist_offer_once"
            )
        ]
