"""Messages to patients and clinicians: reminders due, the SMS backend, a visit message sent
once (conditional updates), and each clinician's day list. Sending is a task enqueued through
the outbox by name.
"""

from __future__ import annotations

import datetime as dt
import os
import time

from django.conf import settings
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone, translation
from django.utils.formats import date_format
from django.utils.module_loading import import_string
from django.utils.translation import gettext as _

from visits import scheduling
from visits.models import DayListSent, Visit, VisitMessage
from visits.services.slots import center_zone, clinicians_for


def reminder_lead() -> dt.timedelta:
    return dt.timedelta(hours=getattr(settings, "VISIT_REMINDER_HOURS", 24))


def _message_on_commit(visit_id: int, kind: str, visit_start: dt.datetime) -> None:
    from outbox.services import task_enqueue

    # Recorded with the change, sent on commit; kept for later if the broker is down. By name:
    # visits.tasks imports these services, never the other way round.
    task_enqueue("visits.tasks.send_visit_message", visit_id, kind, visit_start.isoformat())


def reminders_due(*, now: dt.datetime | None = None) -> list[tuple[int, str]]:
    """(visit id, start) of booked visits within the reminder lead time, not yet reminded."""
    now = now or timezone.now()
    sent = VisitMessage.objects.filter(
        kind=VisitMessage.Kind.REMINDER,
        status__in=[VisitMessage.Status.SENT, VisitMessage.Status.SKIPPED],
    ).values_list("visit_id", "visit_start")
    done = set(sent)
    rows = Visit.objects.filter(
        status=Visit.Status.BOOKED, start_at__gt=now, start_at__lte=now + reminder_lead()
    ).values_list("pk", "start_at")
    return [(pk, start.isoformat()) for pk, start in rows if (pk, start) not in done]


class ConsoleSms:
    """The SMS interface: ``send(to, text)``. This one prints; a real gateway replaces it
    through ``VISIT_SMS_BACKEND``."""

    def send(self, to: str, text: str) -> None:
        print(f"SMS to {to}: {text}", flush=True)


def sms_backend():
    return import_string(getattr(settings, "VISIT_SMS_BACKEND", "visits.services.ConsoleSms"))()


def _message_text(visit: Visit, kind: str) -> tuple[str, str]:
    """(subject, text) in the active language, the time in the patient's zone."""
    local = visit.start_at.astimezone(visit.patient.tzinfo)
    when = f"{date_format(local, 'DATE_FORMAT')} {local:%H:%M} ({visit.patient.timezone})"
    what = {"type": visit.visit_type.label, "when": when, "clinician": str(visit.clinician)}
    if kind == VisitMessage.Kind.CANCELLED:
        return _("Visit cancelled"), _(
            "Your %(type)s visit on %(when)s with %(clinician)s has been cancelled."
        ) % what
    if kind == VisitMessage.Kind.MOVED:
        return _("Visit moved"), _(
            "Your %(type)s visit with %(clinician)s has been moved to %(when)s."
        ) % what
    return _("Visit reminder"), _(
        "Reminder: your %(type)s visit with %(clinician)s is on %(when)s."
    ) % what


def visit_message_send(*, visit_id: int, kind: str, visit_start: dt.datetime) -> str:
    """Send one message about a visit, once: the row's unique key absorbs repeats and a
    conditional update claims it; a claim older than the lease (a worker killed mid-send) may
    be taken again. Stale messages (the visit moved or was cancelled since) are skipped.

    Returns the final status ("sent", "skipped", or "busy" when another worker holds it).
    """
    message, _created = VisitMessage.objects.get_or_create(
        visit_id=visit_id, kind=kind, visit_start=visit_start
    )
    if message.status in (VisitMessage.Status.SENT, VisitMessage.Status.SKIPPED):
        return message.status
    now = timezone.now()
    lease = dt.timedelta(seconds=getattr(settings, "VISIT_MESSAGE_LEASE_SECONDS", 300))
    claimed = VisitMessage.objects.filter(
        Q(status=VisitMessage.Status.PENDING)
        | Q(status=VisitMessage.Status.SENDING, claimed_at__lt=now - lease),
        pk=message.pk,
    ).update(status=VisitMessage.Status.SENDING, claimed_at=now, attempts=message.attempts + 1)
    if not claimed:
        return "busy"
    visit = Visit.objects.select_related("patient", "clinician", "visit_type").get(pk=visit_id)
    stale = (kind == VisitMessage.Kind.REMINDER and visit.status != Visit.Status.BOOKED) or (
        kind != VisitMessage.Kind.CANCELLED and visit.start_at != visit_start
    )
    if stale:
        VisitMessage.objects.filter(pk=message.pk).update(status=VisitMessage.Status.SKIPPED)
        return VisitMessage.Status.SKIPPED
    delay = float(os.environ.get("VISITS_TEST_SEND_DELAY_SECONDS", "0"))  # broker tests only
    if delay:
        time.sleep(delay)
    patient = visit.patient
    with translation.override(patient.language or settings.LANGUAGE_CODE):
        subject, text = _message_text(visit, kind)
    channels = ["in_app"]
    email = patient.email or (patient.user.email if patient.user else "")
    if email:
        send_mail(subject, text, None, [email])
        channels.append("email")
    if patient.phone:
        sms_backend().send(patient.phone, text)
        channels.append("sms")
    VisitMessage.objects.filter(pk=message.pk).update(
        status=VisitMessage.Status.SENT,
        sent_at=timezone.now(),
        channels=",".join(channels),
        text=text,
    )
    return VisitMessage.Status.SENT


def clinician_day_lists(*, day: dt.date | None = None) -> int:
    """E-mail every clinician their visits of ``day`` (default tomorrow), once per day."""
    day = day or timezone.localdate() + dt.timedelta(days=1)
    sent = 0
    for clinician in clinicians_for(center=None):
        tz = center_zone(clinician.care_center) if clinician.care_center else dt.UTC
        start = scheduling.to_instant(day, dt.time(0), tz)
        end = scheduling.to_instant(day + dt.timedelta(days=1), dt.time(0), tz)
        visits = list(
            Visit.objects.filter(
                clinician=clinician,
                status=Visit.Status.BOOKED,
                start_at__gte=start,
                start_at__lt=end,
            ).select_related("patient", "visit_type")
        )
        if not visits or not clinician.email:
            continue
        try:
            with transaction.atomic():
                DayListSent.objects.create(clinician=clinician, date=day)
        except IntegrityError:
            continue  # already sent (the unique constraint absorbs a second run)
        with translation.override(clinician.language or settings.LANGUAGE_CODE):
            lines = [
                f"{v.start_at.astimezone(tz):%H:%M} {v.patient.name} ({v.patient.mrn}) "
                f"— {v.visit_type.label}"
                for v in visits
            ]
            subject = _("Your visits on %(day)s") % {"day": date_format(day, "DATE_FORMAT")}
        send_mail(subject, "\n".join(lines), None, [clinician.email])
        sent += 1
    return sent
