"""Consultation processes: ask (with photos and a snapshot of the last 14 days), answer and
reply, assign within the care team, close with an outcome, ask staff to book a visit, notify
the patient of an answer; repeat-medication requests and their decisions.

Who may do what is decided here once, from ``accounts.access``:

- reading a consultation: whoever sees the patient's clinical data (the patient, their
  endocrinologists, admins) — ``consultation_for``; anyone else gets 404;
- the inbox, answering, assigning, closing: the care team (``may_answer``);
- asking and requesting a repeat: the patient themself.

Sending the answer notice is a task enqueued through the outbox by name.
"""

from __future__ import annotations

import datetime as dt
import os

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.base import ContentFile
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import Q, QuerySet
from django.http import Http404
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from accounts.access import audit, get_patient_for, may_edit_care_plan, patients_visible_to
from accounts.models import AuditEvent, User
from care_plans.services import care_plan_current, targets_of_version
from consultations import hours
from consultations.models import (
    DEFAULT_SERVICE_HOURS,
    AnswerNotice,
    Category,
    Consultation,
    MedicationRequest,
    Message,
    Outcome,
    Photo,
    ServiceLevel,
)
from consultations.photos import PHOTOS_PER_MESSAGE, PhotoError, photo_clean
from glycemia.agp import agp
from glycemia.metrics import cgm_metrics
from glycemia.targets import range_percents
from outbox.services import task_enqueue
from patients.models import Patient
from readings.windows import readings_arrays

SNAPSHOT_DAYS = 14
TEXT_MAX = 5000
SEND_ANSWER_NOTICE = "consultations.tasks.send_answer_notice"
NOTICE_LEASE = dt.timedelta(minutes=5)


class ConsultationError(ValidationError):
    """A request refused with the reason a person reads (400, or 413 for a photo too big)."""

    def __init__(self, message: str, status: int = 400):
        super().__init__(message)
        self.status = status


# --- who may ------------------------------------------------------------------------------


def is_care_team(user: User, patient: Patient) -> bool:
    """An endocrinologist on the patient's care team, or an admin (not the patient)."""
    if user.is_patient or user.is_care_staff:
        return False
    return patients_visible_to(user).filter(pk=patient.pk).exists()


def may_use_inbox(user: User) -> bool:
    return user.is_authenticated and (user.is_endocrinologist or user.is_admin_role)


def may_write(user: User, consultation: Consultation) -> bool:
    """The patient themself, or their care team (checked before a body is read)."""
    return consultation.patient.user_id == user.pk or is_care_team(user, consultation.patient)


def consultations_visible_to(user: User) -> QuerySet[Consultation]:
    if not user.is_authenticated or user.is_care_staff:
        return Consultation.objects.none()
    return Consultation.objects.filter(patient__in=patients_visible_to(user))


def consultation_for(user: User, pk) -> Consultation:
    """The consultation ``pk`` if ``user`` may read it, else 404 (staff never may)."""
    try:
        consultation = consultations_visible_to(user).select_related("patient").get(pk=pk)
    except (Consultation.DoesNotExist, ValueError, TypeError, OverflowError):
        audit(
            user,
            None,
            AuditEvent.Action.DENIED,
            f"consultation {str(pk)[:40]}",
            outcome=AuditEvent.Outcome.DENIED,
        )
        raise Http404("No such consultation.") from None
    return consultation


def consultation_read(user: User, consultation: Consultation) -> None:
    """Record that ``user`` read the consultation (the patient's access log shows it); the
    patient reading their own marks the answers seen."""
    if consultation.patient.user_id == user.pk:
        Consultation.objects.filter(pk=consultation.pk).update(patient_seen_at=timezone.now())
        return
    audit(user, consultation.patient, AuditEvent.Action.VIEW, f"consultation {consultation.pk}")


# --- service levels and due times ---------------------------------------------------------


def service_hours(center, category: str) -> int:
    if center is not None:
        row = ServiceLevel.objects.filter(center=center, category=category).first()
        if row is not None:
            return row.business_hours
    return DEFAULT_SERVICE_HOURS[Category(category)]


def service_levels(center) -> list[dict]:
    """Per category: its label, the business hours, and what the clinic answers (the ask
    page states them before sending)."""
    own = (
        dict(ServiceLevel.objects.filter(center=center).values_list("category", "business_hours"))
        if center is not None
        else {}
    )
    scope = {
        Category.GLUCOSE: _("Questions about your readings, highs and lows, and your reports."),
        Category.MEDICATION: _("Doses, timing and repeats of the medication in your plan."),
        Category.SIDE_EFFECT: _("Effects you notice from your medication or devices."),
        Category.LIFESTYLE: _("Meals, exercise, travel, sick days."),
        Category.DEVICES: _("Your meter, sensor or pump, and uploading your data."),
        Category.OTHER: _("Anything else about your diabetes care."),
    }
    return [
        {
            "category": c.value,
            "label": c.label,
            "hours": own.get(c.value, DEFAULT_SERVICE_HOURS[c]),
            "scope": scope[c],
        }
        for c in Category
    ]


def opening_week(center) -> tuple[dict, list[dt.date]]:
    """The center's opening hours as ``{weekday: [(opens, closes)]}`` and its closed days,
    read from ``visits`` (consultations sit above visits on the clinical floor)."""
    from visits.models import ClosedDay, OpeningHours

    if center is None:
        return {}, []
    week: dict[int, list] = {}
    for weekday, opens, closes in OpeningHours.objects.filter(center=center).values_list(
        "weekday", "opens", "closes"
    ):
        week.setdefault(weekday, []).append((opens, closes))
    closed = list(ClosedDay.objects.filter(center=center).values_list("date", flat=True))
    return week, closed


def due_at_for(center, category: str, start: dt.datetime) -> tuple[dt.datetime | None, int]:
    hours_ = service_hours(center, category)
    week, closed = opening_week(center)
    tz = center.timezone if center is not None else "UTC"
    return hours.business_deadline(start, hours_ * 3600, week, tz, closed), hours_


# --- the snapshot ---------------------------------------------------------------------------


def snapshot_take(patient: Patient, *, now: dt.datetime | None = None) -> dict:
    """The last 14 local days at this moment: CGM metrics (exact) and AGP curves, with the
    targets in force, so the studio shows what the patient's data said when they asked."""
    today = timezone.localdate(now or timezone.now(), patient.tzinfo)
    start = today - dt.timedelta(days=SNAPSHOT_DAYS - 1)
    version = care_plan_current(patient=patient)
    targets = targets_of_version(version, patient=patient)
    times, values = readings_arrays(patient, "cgm", start, today)
    snapshot = {
        "window": [start.isoformat(), today.isoformat()],
        "targets": {k: targets.get(k) for k in ("range_low", "range_high")},
        "readings": int(len(values)),
        "metrics": None,
        "agp": None,
    }
    if len(values):
        t = times.astype("datetime64[ns]")
        metrics = cgm_metrics(
            t, values, tz=patient.timezone, start=start, end=today, full=False, exact=True
        )
        metrics.update(
            range_percents(values, targets.get("range_low", 70), targets.get("range_high", 180))
        )
        snapshot["metrics"] = {
            k: v for k, v in metrics.items() if isinstance(v, int | float | str | type(None))
        }
        snapshot["agp"] = agp(t, values, tz=patient.timezone)
    return snapshot


# --- asking, answering, replying --------------------------------------------------------------


def _text(text) -> str:
    text = (text or "").strip() if isinstance(text, str) else ""
    if not text:
        raise ConsultationError(_("Write your message."))
    if len(text) > TEXT_MAX:
        raise ConsultationError(_("A message holds at most %(n)s characters.") % {"n": TEXT_MAX})
    if "\x00" in text or any(0xD800 <= ord(ch) <= 0xDFFF for ch in text):
        raise ConsultationError(_("The message contains characters that cannot be stored."))
    return text


def _clean_photos(files) -> list:
    files = list(files or [])
    if len(files) > PHOTOS_PER_MESSAGE:
        raise ConsultationError(
            _("Send at most %(n)s photos with one message.") % {"n": PHOTOS_PER_MESSAGE}
        )
    try:
        return [photo_clean(f) for f in files]
    except PhotoError as error:
        raise ConsultationError(str(error), status=error.status) from None


def _add_message(consultation, *, by: User, text: str, photos: list, from_patient: bool) -> Message:
    message = Message.objects.create(
        consultation=consultation,
        author=by,
        author_name=(by.get_full_name() or by.username)[:150],
        from_patient=from_patient,
        text=text,
        at=timezone.now(),
    )
    for clean in photos:
        photo = Photo(
            message=message,
            content_type=clean.content_type,
            width=clean.width,
            height=clean.height,
        )
        name = f"{os.urandom(12).hex()}.{clean.extension}"  # never the sender's file name
        photo.file.save(name, ContentFile(clean.content), save=False)
        photo.save()
    return message


def consultation_ask(
    *, patient: Patient, by: User, category: str, text: str, photos=()
) -> Consultation:
    """A patient's new question; due within the center's service level in business hours."""
    if patient.user_id != by.pk:
        raise PermissionDenied("Only the patient asks their own care team.")
    if category not in Category.values:
        raise ConsultationError(
            _("Choose a category: %(choices)s.") % {"choices": ", ".join(Category.values)}
        )
    text = _text(text)
    clean = _clean_photos(photos)
    now = timezone.now()
    due, hours_ = due_at_for(patient.care_center, category, now)
    snapshot = snapshot_take(patient, now=now)
    with transaction.atomic():
        consultation = Consultation.objects.create(
            patient=patient,
            category=category,
            created_at=now,
            due_at=due,
            service_hours=hours_,
            snapshot=snapshot,
        )
        _add_message(consultation, by=by, text=text, photos=clean, from_patient=True)
    return consultation


def consultation_post(*, consultation: Consultation, by: User, text: str, photos=()) -> Message:
    """A message in the thread: the care team's answer, or the patient's reply (until it is
    closed). An answer notifies the patient; a reply puts the question back in the inbox with
    a new due time."""
    patient = consultation.patient
    from_patient = patient.user_id == by.pk
    if not may_write(by, consultation):
        raise PermissionDenied("Only the patient and their care team write here.")
    if consultation.is_closed:
        raise ConsultationError(_("This consultation is closed; start a new one."), status=409)
    text = _text(text)
    clean = _clean_photos(photos)
    now = timezone.now()
    with transaction.atomic():
        message = _add_message(
            consultation, by=by, text=text, photos=clean, from_patient=from_patient
        )
        if from_patient:
            due, _hours = due_at_for(patient.care_center, consultation.category, now)
            consultation.state = Consultation.State.OPEN
            consultation.due_at = due
        else:
            consultation.state = Consultation.State.ANSWERED
            consultation.due_at = None
            if consultation.first_answer_at is None:
                consultation.first_answer_at = now
                consultation.first_answer_by = by
            AnswerNotice.objects.create(message=message)
            task_enqueue(SEND_ANSWER_NOTICE, message.pk)
            audit(by, patient, AuditEvent.Action.CHANGE, f"consultation {consultation.pk} answer")
        consultation.save(update_fields=["state", "due_at", "first_answer_at", "first_answer_by"])
    return message


def consultation_assign(*, consultation: Consultation, by: User, to: User | None) -> None:
    """Hand the question to another clinician of the patient's care team."""
    patient = consultation.patient
    if not is_care_team(by, patient):
        raise PermissionDenied("Only the care team assigns.")
    if to is not None and not (to.is_endocrinologist and is_care_team(to, patient)):
        raise ConsultationError(_("Choose a clinician of this patient's care team."))
    consultation.assigned_to = to
    consultation.save(update_fields=["assigned_to"])
    audit(by, patient, AuditEvent.Action.CHANGE, f"consultation {consultation.pk} assigned")


def consultation_close(*, consultation: Consultation, by: User, outcome: str) -> None:
    if not is_care_team(by, consultation.patient):
        raise PermissionDenied("Only the care team closes a consultation.")
    if outcome not in Outcome.values:
        raise ConsultationError(
            _("Choose an outcome: %(choices)s.") % {"choices": ", ".join(Outcome.values)}
        )
    if consultation.is_closed:
        raise ConsultationError(_("This consultation is already closed."), status=409)
    consultation.state = Consultation.State.CLOSED
    consultation.outcome = outcome
    consultation.due_at = None
    consultation.closed_at = timezone.now()
    consultation.closed_by = by
    consultation.save(update_fields=["state", "outcome", "due_at", "closed_at", "closed_by"])
    audit(
        by, consultation.patient, AuditEvent.Action.CHANGE, f"consultation {consultation.pk} closed"
    )


def consultation_request_visit(*, consultation: Consultation, by: User) -> None:
    """Ask the front desk to book a visit: the patient lands on the visits worklist with the
    reason "asked in a consultation"."""
    from visits.services.requests import booking_request_add

    if not is_care_team(by, consultation.patient):
        raise PermissionDenied("Only the care team asks for a visit.")
    booking_request_add(patient=consultation.patient, by=by, reason="consultation")
    audit(
        by,
        consultation.patient,
        AuditEvent.Action.CHANGE,
        f"consultation {consultation.pk} visit requested",
    )


def inbox(user: User) -> list[Consultation]:
    """The clinician's inbox: waiting for an answer first, by due time; then answered and
    closed ones, newest first."""
    rows = list(
        consultations_visible_to(user)
        .select_related("patient", "assigned_to")
        .order_by("-created_at")[:500]
    )
    waiting = sorted(
        (c for c in rows if c.state == Consultation.State.OPEN),
        key=lambda c: (c.due_at or dt.datetime.max.replace(tzinfo=dt.UTC), c.pk),
    )
    return waiting + [c for c in rows if c.state != Consultation.State.OPEN]


# --- the answer notice ------------------------------------------------------------------------


def answer_notice_send(*, message_id: int) -> str:
    """E-mail and SMS the patient that their care team answered, once, in their language;
    the in-app notice is the unread mark on their threads. Safe to run twice."""
    from visits.services import sms_backend

    notice = AnswerNotice.objects.filter(message_id=message_id).first()
    if notice is None or notice.status == AnswerNotice.Status.SENT:
        return "sent" if notice else "none"
    now = timezone.now()
    claimed = AnswerNotice.objects.filter(
        Q(status=AnswerNotice.Status.PENDING)
        | Q(status=AnswerNotice.Status.SENDING, claimed_at__lt=now - NOTICE_LEASE),
        pk=notice.pk,
    ).update(status=AnswerNotice.Status.SENDING, claimed_at=now)
    if not claimed:
        return "busy"
    patient = notice.message.consultation.patient
    with translation.override(patient.language or settings.LANGUAGE_CODE):
        subject = _("Your care team answered")
        text = _(
            "Your care team answered your question. Sign in to the Diabetes Center to read it."
        )
    channels = ["in_app"]
    email = patient.email or (patient.user.email if patient.user else "")
    if email:
        send_mail(subject, text, None, [email])
        channels.append("email")
    if patient.phone:
        sms_backend().send(patient.phone, text)
        channels.append("sms")
    AnswerNotice.objects.filter(pk=notice.pk).update(
        status=AnswerNotice.Status.SENT, sent_at=timezone.now(), channels=",".join(channels)
    )
    return "sent"


# --- medication requests ----------------------------------------------------------------------


def plan_medications(patient: Patient) -> tuple[object, list[dict]]:
    version = care_plan_current(patient=patient)
    return version, (list(version.medications) if version else [])


def medication_request_create(
    *, patient: Patient, by: User, medication, quantity, note: str = ""
) -> MedicationRequest:
    """A repeat of a medication in the patient's current plan (``medication``: its index in
    the plan's list, or its product name)."""
    if patient.user_id != by.pk:
        raise PermissionDenied("Only the patient asks for a repeat.")
    version, meds = plan_medications(patient)
    chosen = None
    if isinstance(medication, int) or (isinstance(medication, str) and medication.isdigit()):
        index = int(medication)
        chosen = meds[index] if 0 <= index < len(meds) else None
    elif isinstance(medication, str):
        chosen = next((m for m in meds if m.get("product", "").lower() == medication.lower()), None)
    if chosen is None:
        raise ConsultationError(_("Choose a medication from your current plan."))
    try:
        quantity = int(quantity)
    except (TypeError, ValueError, OverflowError):
        quantity = 0
    if not 1 <= quantity <= 12:
        raise ConsultationError(_("Ask for between 1 and 12 packs."))
    note = note if isinstance(note, str) else ""
    if len(note) > 1000 or "\x00" in note:
        raise ConsultationError(
            _("The note is too long or contains characters that cannot be stored.")
        )
    keep = ("kind", "product", "dose", "dose_unit", "frequency", "timing")
    return MedicationRequest.objects.create(
        patient=patient,
        plan_version=version,
        medication={k: chosen.get(k) for k in keep},
        quantity=quantity,
        note=note.strip(),
        requested_by=by,
    )


def medication_request_for(user: User, pk) -> MedicationRequest:
    try:
        request = MedicationRequest.objects.select_related("patient").get(pk=pk)
    except (MedicationRequest.DoesNotExist, ValueError, TypeError, OverflowError):
        raise Http404("No such medication request.") from None
    get_patient_for(user, request.patient_id)  # 404 outside one's clinical view
    return request


def medication_request_decide(
    *, request: MedicationRequest, by: User, approved: bool, note: str = ""
) -> MedicationRequest:
    if not may_edit_care_plan(by, request.patient):
        raise PermissionDenied("Only the patient's endocrinologists decide.")
    if request.state != MedicationRequest.State.PENDING:
        raise ConsultationError(_("This request has already been decided."), status=409)
    note = note if isinstance(note, str) else ""
    if len(note) > 1000 or "\x00" in note:
        raise ConsultationError(
            _("The note is too long or contains characters that cannot be stored.")
        )
    updated = MedicationRequest.objects.filter(
        pk=request.pk, state=MedicationRequest.State.PENDING
    ).update(
        state=MedicationRequest.State.APPROVED if approved else MedicationRequest.State.DECLINED,
        decided_by=by,
        decided_at=timezone.now(),
        decision_note=note.strip(),
    )
    if not updated:
        raise ConsultationError(_("This request has already been decided."), status=409)
    audit(by, request.patient, AuditEvent.Action.CHANGE, f"medication request {request.pk}")
    request.refresh_from_db()
    return request


def parse_id(value) -> int | None:
    """A positive database id from a form value, else None (never raises)."""
    if isinstance(value, str) and value.isdigit() and len(value) < 19:
        return int(value)
    return None


def unread_answers(patient: Patient) -> int:
    """How many of the patient's threads have an answer they have not read (the in-app
    notice on their home page)."""
    return sum(
        1
        for c in patient.consultations.exclude(state=Consultation.State.OPEN)
        if c.unread_by_patient()
    )


def consultation_photo_files(patient: Patient) -> list[str]:
    """The stored names of a patient's consultation photos (erasure removes the files)."""
    return [
        name
        for name in Photo.objects.filter(message__consultation__patient=patient).values_list(
            "file", flat=True
        )
        if name
    ]
