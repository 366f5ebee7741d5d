"""Recall outreach: how to reach a due patient, the log of attempts, and booking invites.

- ``preferred_channel``: the front desk's note (``ContactPreference``) or, without one, the
  first of e-mail, phone, app account the record has;
- ``outreach_record``: one attempt (called, left a message, no answer, declined …) with an
  optional "try again on" date;
- ``booking_invite_send``: an invite in the patient's language with the link to the page
  where they pick a free slot, recorded as an ``invite_sent`` attempt and sent by the
  ``visits.tasks.send_booking_invite`` task through the outbox (by name);
- ``latest_outreach``: each patient's latest attempt since they were last seen — the
  worklist's "outreach state".
"""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.urls import NoReverseMatch, reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from accounts.models import User
from patients.models import Patient, validate_plain_text
from visits.models import Visit
from visits.models_frontdesk import Channel, ContactPreference, Outcome, OutreachAttempt
from visits.services.messages import sms_backend
from visits.services.slots import VisitError

NOT_CONTACTED = "not_contacted"
OUTREACH_STATES = (NOT_CONTACTED, *Outcome.values)
# The patient's booking page (issue #19 §2). Its URL names, tried in order; the plain path
# when none resolves (the page is built in a sibling branch).
BOOKING_ROUTE_NAMES = ("visits:self_book", "visits-self-book", "visits_self_book")
BOOKING_PATH = "/visits/book/"


def booking_link() -> str:
    """The absolute address of the page where a patient picks one of the offered slots."""
    path = BOOKING_PATH
    for name in BOOKING_ROUTE_NAMES:
        try:
            path = reverse(name)
            break
        except NoReverseMatch:
            continue
    return settings.SITE_URL.rstrip("/") + path


def preferred_channel(patient: Patient, noted: str | None = None) -> str:
    """The channel to use first: the front desk's note, else the first of e-mail, phone and
    the app the patient can be reached by ("" when the record has none).

    ``noted`` saves a query in lists (``preferences_for``)."""
    if noted is None:
        noted = (
            ContactPreference.objects.filter(patient=patient)
            .values_list("channel", flat=True)
            .first()
        )
    if noted:
        return noted
    if contact_email(patient):
        return Channel.EMAIL
    if patient.phone:
        return Channel.PHONE
    if patient.user_id:
        return Channel.IN_APP
    return ""


def contact_email(patient: Patient) -> str:
    """The record's e-mail, else the patient's account's (the same rule as visit messages)."""
    return patient.email or (patient.user.email if patient.user_id and patient.user else "")


def preferences_for(patient_ids: list[int]) -> dict[int, str]:
    return dict(
        ContactPreference.objects.filter(patient_id__in=patient_ids).values_list(
            "patient_id", "channel"
        )
    )


def contact_preference_set(*, patient: Patient, channel: str, by: User) -> None:
    if channel not in Channel.values:
        raise VisitError(_("Choose a channel."))
    ContactPreference.objects.update_or_create(
        patient=patient, defaults={"channel": channel, "updated_by": by}
    )


def _clean_note(note: str) -> str:
    note = (note or "").strip()
    if len(note) > 300:
        raise VisitError(_("Keep the note under 300 characters."))
    try:
        validate_plain_text(note.replace("\n", " "))
    except Exception:
        raise VisitError(_("Remove control or direction-override characters.")) from None
    return note


def outreach_record(
    *,
    patient: Patient,
    by: User,
    channel: str,
    outcome: str,
    note: str = "",
    retry_on: dt.date | None = None,
) -> OutreachAttempt:
    """Log one attempt to reach a due patient. ``VisitError`` for an unknown channel or
    outcome, a note that is not plain text, or a "try again on" date in the past."""
    if channel not in Channel.values:
        raise VisitError(_("Choose a channel."))
    if outcome not in Outcome.values:
        raise VisitError(_("Choose an outcome."))
    today = timezone.localdate(timezone.now(), patient.tzinfo)
    if retry_on is not None and not today <= retry_on <= today + dt.timedelta(days=366):
        raise VisitError(_("The date to try again must be within the next year."))
    return OutreachAttempt.objects.create(
        patient=patient,
        channel=channel,
        outcome=outcome,
        note=_clean_note(note),
        retry_on=retry_on,
        by=by if by.is_authenticated else None,
    )


def _invite_text(patient: Patient, link: str) -> tuple[str, str]:
    center = str(patient.care_center) if patient.care_center else ""
    subject = _("Time to book your diabetes follow-up")
    text = _(
        "Dear %(name)s, your follow-up visit at %(center)s is due. Choose a time that suits "
        "you here: %(link)s"
    ) % {"name": patient.name, "center": center, "link": link}
    return subject, text


def booking_invite_send(*, patient: Patient, by: User, channel: str = "") -> OutreachAttempt:
    """Invite the patient to book: the text in their language, recorded as an ``invite_sent``
    attempt, delivered after commit by the ``visits.tasks.send_booking_invite`` task.

    The channel defaults to the patient's preferred one; a phone call cannot carry an invite,
    so "phone" sends an SMS. ``VisitError`` when the patient cannot be reached that way."""
    from outbox.services import task_enqueue

    channel = channel or preferred_channel(patient)
    if channel == Channel.PHONE:
        channel = Channel.SMS
    reachable = {
        Channel.EMAIL: bool(contact_email(patient)),
        Channel.SMS: bool(patient.phone),
        Channel.IN_APP: bool(patient.user_id),
    }
    if not reachable.get(channel):
        raise VisitError(_("The patient cannot be reached that way: add their contact details."))
    link = booking_link()
    with translation.override(patient.language or settings.LANGUAGE_CODE):
        subject, text = _invite_text(patient, link)
    with transaction.atomic():
        attempt = OutreachAttempt.objects.create(
            patient=patient,
            channel=channel,
            outcome=Outcome.INVITE_SENT,
            by=by if by.is_authenticated else None,
            subject=subject,
            text=text,
            link=link,
        )
        task_enqueue("visits.tasks.send_booking_invite", attempt.pk)
    return attempt


def booking_invite_deliver(*, attempt_id: int) -> str:
    """Send one invite, once: a conditional update claims it (a second run, or a second
    worker, finds it claimed and does nothing). In-app invites are read on the patient's home
    page; nothing is sent. Returns "sent" or "done" (already claimed)."""
    claimed = OutreachAttempt.objects.filter(
        pk=attempt_id, outcome=Outcome.INVITE_SENT, sent_at__isnull=True
    ).update(sent_at=timezone.now())
    if not claimed:
        return "done"
    attempt = OutreachAttempt.objects.select_related("patient", "patient__user").get(pk=attempt_id)
    patient = attempt.patient
    if attempt.channel == Channel.EMAIL and contact_email(patient):
        send_mail(attempt.subject, attempt.text, None, [contact_email(patient)])
    elif attempt.channel == Channel.SMS and patient.phone:
        sms_backend().send(patient.phone, attempt.text)
    OutreachAttempt.objects.filter(pk=attempt_id).update(sent_channels=attempt.channel)
    return "sent"


def open_invites(patient: Patient):
    """Invites the patient has not acted on: for their home page (in-app ones included)."""
    booked = Visit.objects.filter(
        patient=patient, status__in=[Visit.Status.BOOKED, Visit.Status.CHECKED_IN]
    ).exists()
    if booked:
        return OutreachAttempt.objects.none()
    since = timezone.now() - dt.timedelta(days=30)
    return OutreachAttempt.objects.filter(
        patient=patient, outcome=Outcome.INVITE_SENT, at__gte=since
    ).order_by("-at")[:1]


def latest_outreach(
    patient_ids: list[int], *, since: dict[int, dt.datetime] | None = None
) -> dict[int, OutreachAttempt]:
    """Each patient's latest attempt, ignoring those before ``since[patient]`` (the last
    time they were seen: older outreach was about an earlier follow-up)."""
    since = since or {}
    out: dict[int, OutreachAttempt] = {}
    attempts = OutreachAttempt.objects.filter(patient_id__in=patient_ids).select_related("by")
    for attempt in attempts.order_by("patient_id", "-at", "-pk"):
        if attempt.patient_id in out:
            continue
        seen = since.get(attempt.patient_id)
        if seen is not None and attempt.at < seen:
            continue
        out[attempt.patient_id] = attempt
    return out
