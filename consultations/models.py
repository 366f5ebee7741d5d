"""Online consultations: a patient's question to their care team (a thread of messages with
photos and a snapshot of their data at asking), the center's service levels, saved reply
templates, answer notifications and repeat-medication requests.

Who may read a consultation is who may see the patient's clinical data
(``accounts.access.get_patient_for``): the patient and their care team (endocrinologists), and
admins. Staff, nurses and educators never see content or photos.
"""

from __future__ import annotations

import copy

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _


class Category(models.TextChoices):
    GLUCOSE = "glucose", _("My glucose")
    MEDICATION = "medication", _("My medication")
    SIDE_EFFECT = "side_effect", _("A side effect")
    LIFESTYLE = "lifestyle", _("Diet and exercise")
    DEVICES = "devices", _("My devices")
    OTHER = "other", _("Other")


class Outcome(models.TextChoices):
    ANSWERED = "answered", _("Answered")
    PLAN_CHANGED = "plan_changed", _("Plan changed")
    VISIT_BOOKED = "visit_booked", _("Visit booked")
    REFERRED = "referred", _("Referred")


# Answer within this many business hours of the center, per category, unless the center's
# own ``ServiceLevel`` rows say otherwise (a working day is 8 hours).
DEFAULT_SERVICE_HOURS = {
    Category.GLUCOSE: 8,
    Category.MEDICATION: 16,
    Category.SIDE_EFFECT: 8,
    Category.LIFESTYLE: 24,
    Category.DEVICES: 16,
    Category.OTHER: 24,
}


class ServiceLevel(models.Model):
    """How fast a center answers one category, in business hours (its opening hours)."""

    center = models.ForeignKey(
        "accounts.CareCenter", on_delete=models.CASCADE, related_name="service_levels"
    )
    category = models.CharField(_("category"), max_length=20, choices=Category.choices)
    business_hours = models.PositiveSmallIntegerField(_("answer within (business hours)"))

    class Meta:
        verbose_name = _("service level")
        constraints = [
            models.UniqueConstraint(fields=["center", "category"], name="service_level_unique"),
            models.CheckConstraint(condition=Q(business_hours__gt=0), name="service_level_hours"),
        ]

    def __str__(self) -> str:
        return f"{self.center} {self.category}: {self.business_hours} h"


class Consultation(models.Model):
    class State(models.TextChoices):
        OPEN = "open", _("Waiting for the care team")
        ANSWERED = "answered", _("Answered")
        CLOSED = "closed", _("Closed")

    patient = models.ForeignKey(
        "patients.Patient", on_delete=models.CASCADE, related_name="consultations"
    )
    category = models.CharField(_("category"), max_length=20, choices=Category.choices)
    state = models.CharField(_("state"), max_length=10, choices=State.choices, default=State.OPEN)
    outcome = models.CharField(_("outcome"), max_length=20, choices=Outcome.choices, blank=True)
    assigned_to = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="assigned_consultations",
    )
    created_at = models.DateTimeField(_("asked"), default=timezone.now, db_index=True)
    # When the care team's next answer is due (business hours); None once answered.
    due_at = models.DateTimeField(_("answer due"), null=True, blank=True)
    service_hours = models.PositiveSmallIntegerField(_("service level (business hours)"))
    first_answer_at = models.DateTimeField(_("first answered"), null=True, blank=True)
    first_answer_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    closed_at = models.DateTimeField(_("closed"), null=True, blank=True)
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    patient_seen_at = models.DateTimeField(null=True, blank=True)  # the patient last read it
    # The last 14 days at asking: {"window": [start, end], "metrics": {...}, "agp": {...}}.
    snapshot = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = _("consultation")
        indexes = [models.Index(fields=["state", "due_at"])]
        constraints = [
            models.CheckConstraint(
                condition=~Q(state="closed") | ~Q(outcome=""), name="consultation_closed_outcome"
            )
        ]

    # The plan editor may be opened from a consultation (``care_plans.services.prompt_resolve``).
    prompts_plan_changes = True

    def __str__(self) -> str:
        return gettext("consultation #%(id)s (%(category)s)") % {
            "id": self.pk,
            "category": self.get_category_display(),
        }

    @property
    def is_closed(self) -> bool:
        return self.state == self.State.CLOSED

    def overdue(self, now=None) -> bool:
        """The care team owes an answer and its due time has passed."""
        now = now or timezone.now()
        return self.state == self.State.OPEN and self.due_at is not None and self.due_at < now

    def unread_by_patient(self) -> bool:
        last = self.last_answer_at
        return last is not None and (self.patient_seen_at is None or self.patient_seen_at < last)

    @property
    def last_answer_at(self):
        message = self.messages.filter(from_patient=False).order_by("-at").first()
        return message.at if message else None

    def plan_change(self, content: dict) -> dict:
        """The plan editor's starting point when a clinician changes the plan from this
        consultation (``?prompt=consultations.consultation:<id>``): the current plan with the
        care team's latest answer added to the patient's instructions, so the advice given in
        the thread becomes part of the plan once the clinician edits and confirms it. Before
        any answer: the plan as it is. The saved version links back here."""
        content = copy.deepcopy(content)
        answer = self.messages.filter(from_patient=False).order_by("-at", "-pk").first()
        if answer is None:
            return content
        instructions = (content.get("patient_instructions") or "").strip()
        if answer.text.strip() not in instructions:
            content["patient_instructions"] = "\n\n".join(
                part for part in (instructions, answer.text.strip()) if part
            )
        return content


class Message(models.Model):
    consultation = models.ForeignKey(
        Consultation, on_delete=models.CASCADE, related_name="messages"
    )
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    author_name = models.CharField(max_length=150)  # kept if the account goes
    from_patient = models.BooleanField()
    text = models.TextField(_("message"), max_length=5000)
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["at", "pk"]

    def __str__(self) -> str:
        return f"{self.author_name} {self.at:%Y-%m-%d %H:%M}"


class Photo(models.Model):
    """A photo re-encoded on arrival (JPEG or PNG, no EXIF), stored privately (0600 files in
    0700 folders under MEDIA_ROOT, never served statically: ``consultations-photo`` checks
    access)."""

    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="photos")
    file = models.FileField(upload_to="consultations/%Y/%m/")
    content_type = models.CharField(max_length=20)
    width = models.PositiveIntegerField()
    height = models.PositiveIntegerField()

    class Meta:
        ordering = ["pk"]


class ReplyTemplate(models.Model):
    """A saved answer: a clinician's own (``owner``) or their center's (``center``), in both
    languages."""

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="reply_templates",
    )
    center = models.ForeignKey(
        "accounts.CareCenter", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    title = models.CharField(_("title"), max_length=100)
    text_en = models.TextField(_("text (English)"), max_length=5000)
    text_zh = models.TextField(_("text (Chinese)"), max_length=5000, blank=True)

    class Meta:
        ordering = ["title", "pk"]
        verbose_name = _("reply template")
        constraints = [
            models.CheckConstraint(
                condition=Q(owner__isnull=False, center__isnull=True)
                | Q(owner__isnull=True, center__isnull=False),
                name="reply_template_one_owner",
            )
        ]

    def __str__(self) -> str:
        return self.title

    def text_for(self, language: str) -> str:
        return self.text_zh if language.startswith("zh") and self.text_zh else self.text_en


class AnswerNotice(models.Model):
    """One answer's e-mail and SMS to the patient, sent once (a claim by conditional update)."""

    class Status(models.TextChoices):
        PENDING = "pending"
        SENDING = "sending"
        SENT = "sent"

    message = models.OneToOneField(Message, on_delete=models.CASCADE, related_name="notice")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    claimed_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    channels = models.CharField(max_length=40, blank=True)


class MedicationRequest(models.Model):
    """A patient's request for a repeat of a medication in their current plan, and the
    endocrinologist's decision. The product prints a request slip; it never sends a
    prescription to a pharmacy."""

    class State(models.TextChoices):
        PENDING = "pending", _("Waiting for a decision")
        APPROVED = "approved", _("Approved")
        DECLINED = "declined", _("Declined")

    patient = models.ForeignKey(
        "patients.Patient", on_delete=models.CASCADE, related_name="medication_requests"
    )
    plan_version = models.ForeignKey(  # versions go only when the patient is erased
        "care_plans.CarePlanVersion", on_delete=models.CASCADE, related_name="+"
    )
    # The plan's medication as it was asked for: kind, product, dose, dose_unit, frequency.
    medication = models.JSONField()
    quantity = models.PositiveSmallIntegerField(_("quantity"))
    note = models.TextField(_("note"), max_length=1000, blank=True)
    state = models.CharField(max_length=10, choices=State.choices, default=State.PENDING)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_note = models.TextField(_("decision note"), max_length=1000, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = _("medication request")
        constraints = [
            models.CheckConstraint(condition=Q(quantity__gte=1), name="medication_request_qty"),
            models.CheckConstraint(
                condition=Q(state="pending", decided_at__isnull=True)
                | (~Q(state="pending") & Q(decided_at__isnull=False)),
                name="medication_request_decided",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.medication.get('product', '')} × {self.quantity}"
