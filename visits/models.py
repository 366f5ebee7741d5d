"""Opening hours, clinician availability, visit types, visits, their history and reminders.

Care centers live in ``accounts`` (membership decides who sees whom). Times of day here are
wall-clock times in the center's zone; visits are instants (UTC). ``visits.scheduling`` turns
the one into the other, DST included.

No double booking is a database rule, not a check in Python: the migration
``0002_no_double_booking`` adds, on PostgreSQL, exclusion constraints (btree_gist) over
``tstzrange(start_at, end_at)`` per clinician, per patient and per room for every visit that is
not cancelled; on SQLite, triggers that abort an overlapping insert or update (SQLite's single
writer makes the check-then-write atomic). The names below are the constraint names both use.
"""

import hashlib
import secrets

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext, gettext_noop
from django.utils.translation import gettext_lazy as _

OVERLAP_CONSTRAINTS = {
    "visit_no_overlap_clinician": "clinician",
    "visit_no_overlap_patient": "patient",
    "visit_no_overlap_room": "room",
}


class Weekday(models.IntegerChoices):
    MONDAY = 0, _("Monday")
    TUESDAY = 1, _("Tuesday")
    WEDNESDAY = 2, _("Wednesday")
    THURSDAY = 3, _("Thursday")
    FRIDAY = 4, _("Friday")
    SATURDAY = 5, _("Saturday")
    SUNDAY = 6, _("Sunday")


class Room(models.Model):
    center = models.ForeignKey(
        "accounts.CareCenter", on_delete=models.CASCADE, related_name="rooms"
    )
    name = models.CharField(_("name"), max_length=100)

    class Meta:
        ordering = ["center", "name"]
        verbose_name = _("room")
        constraints = [models.UniqueConstraint(fields=["center", "name"], name="room_unique")]

    def __str__(self) -> str:
        return self.name


class OpeningHours(models.Model):
    """One opening period of a center on a weekday (two rows for a lunch break)."""

    center = models.ForeignKey(
        "accounts.CareCenter", on_delete=models.CASCADE, related_name="opening_hours"
    )
    weekday = models.PositiveSmallIntegerField(_("weekday"), choices=Weekday.choices)
    opens = models.TimeField(_("opens"))
    closes = models.TimeField(_("closes"))

    class Meta:
        ordering = ["center", "weekday", "opens"]
        verbose_name = _("opening hours")
        verbose_name_plural = _("opening hours")
        constraints = [
            models.CheckConstraint(condition=Q(closes__gt=models.F("opens")), name="hours_order")
        ]

    def __str__(self) -> str:
        return f"{self.get_weekday_display()} {self.opens:%H:%M}–{self.closes:%H:%M}"


class ClosedDay(models.Model):
    center = models.ForeignKey(
        "accounts.CareCenter", on_delete=models.CASCADE, related_name="closed_days"
    )
    date = models.DateField(_("date"))
    reason = models.CharField(_("reason"), max_length=200, blank=True)

    class Meta:
        ordering = ["center", "date"]
        verbose_name = _("closed day")
        constraints = [models.UniqueConstraint(fields=["center", "date"], name="closed_day_unique")]

    def __str__(self) -> str:
        return f"{self.date} {self.reason}"


class Availability(models.Model):
    """A clinician's weekly session at a center (e.g. Tuesdays 09:00–12:30 in room 2)."""

    clinician = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="availability"
    )
    center = models.ForeignKey("accounts.CareCenter", on_delete=models.CASCADE)
    weekday = models.PositiveSmallIntegerField(_("weekday"), choices=Weekday.choices)
    starts = models.TimeField(_("starts"))
    ends = models.TimeField(_("ends"))
    room = models.ForeignKey(Room, null=True, blank=True, on_delete=models.SET_NULL)

    class Meta:
        ordering = ["clinician", "weekday", "starts"]
        verbose_name = _("weekly availability")
        verbose_name_plural = _("weekly availability")
        constraints = [
            models.CheckConstraint(
                condition=Q(ends__gt=models.F("starts")), name="availability_order"
            )
        ]

    def __str__(self) -> str:
        return (
            f"{self.clinician} {self.get_weekday_display()} {self.starts:%H:%M}–{self.ends:%H:%M}"
        )


class AvailabilityException(models.Model):
    """Leave or training (no visits: the whole day, or between the times) or an extra session."""

    class Kind(models.TextChoices):
        LEAVE = "leave", _("Leave")
        TRAINING = "training", _("Training")
        EXTRA = "extra", _("Extra session")

    clinician = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="availability_exceptions"
    )
    center = models.ForeignKey("accounts.CareCenter", on_delete=models.CASCADE)
    date = models.DateField(_("date"))
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices)
    starts = models.TimeField(_("starts"), null=True, blank=True)
    ends = models.TimeField(_("ends"), null=True, blank=True)
    room = models.ForeignKey(Room, null=True, blank=True, on_delete=models.SET_NULL)
    note = models.CharField(_("note"), max_length=200, blank=True)

    class Meta:
        ordering = ["clinician", "date"]
        verbose_name = _("availability exception")
        constraints = [
            # An extra session needs its times; leave/training without times is the whole day.
            models.CheckConstraint(
                condition=(Q(starts__isnull=True) & Q(ends__isnull=True) & ~Q(kind="extra"))
                | (Q(starts__isnull=False) & Q(ends__gt=models.F("starts"))),
                name="availability_exception_times",
            )
        ]

    def __str__(self) -> str:
        return f"{self.clinician} {self.date} {self.get_kind_display()}"


# The built-in visit types (``seed_demo``'s catalogue), by code: the English name each is
# created with, marked for translation (see ``VisitType.label``).
BUILT_IN_NAMES = {
    "follow_up": gettext_noop("Follow-up"),
    "urgent": gettext_noop("Urgent review"),
    "video_review": gettext_noop("Video review"),
    "annual_review": gettext_noop("Annual review (eyes, kidneys, feet)"),
    "education": gettext_noop("Diabetes education"),
    "phone_check": gettext_noop("Nurse phone check"),
    "dietitian": gettext_noop("Dietitian consultation"),
}


class VisitType(models.Model):
    """A kind of visit: how long, who may take it, in person or not.

    Names in the viewer's language (decision, issue #9): a built-in type, known by its
    ``code`` in ``BUILT_IN_NAMES`` and still carrying the English name it was created with,
    is shown through gettext (``label``: "Follow-up" reads 随访 in Chinese). A type staff
    created, or a built-in one they renamed, shows exactly the name they typed: we do not
    machine-translate free text, and a per-language name column would ask staff to type every
    name twice for a catalogue of a dozen rows. ``str(visit_type)`` is the label, so pages,
    reminders (rendered under the patient's language) and .ics summaries all use it.
    """

    class Mode(models.TextChoices):
        IN_PERSON = "in_person", _("In person")
        VIDEO = "video", _("Video")
        PHONE = "phone", _("Phone")

    code = models.SlugField(_("code"), max_length=40, unique=True)
    name = models.CharField(_("name"), max_length=100)
    duration_minutes = models.PositiveSmallIntegerField(_("duration (minutes)"))
    # Comma-separated clinician roles (accounts.User.Role values) who may take this visit.
    roles = models.CharField(_("clinician roles"), max_length=100, default="endocrinologist")
    mode = models.CharField(_("mode"), max_length=10, choices=Mode.choices, default="in_person")
    # A follow-up resets the plan's visit clock when completed (the worklist books these).
    is_follow_up = models.BooleanField(_("follow-up visit"), default=True)
    # Patients may book this type themselves (issue #19 §2), with their own care team.
    patient_bookable = models.BooleanField(_("patients may book it"), default=False)
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("visit type")
        constraints = [
            models.CheckConstraint(
                condition=Q(duration_minutes__gte=5) & Q(duration_minutes__lte=480),
                name="visit_type_duration",
            )
        ]

    def __str__(self) -> str:
        return self.label

    @property
    def label(self) -> str:
        """The name in the active language (see the class docstring).

        >>> VisitType(code="follow_up", name="Follow-up").label  # under zh-hans  # doctest: +SKIP
        '随访'
        """
        built_in = BUILT_IN_NAMES.get(self.code)
        return gettext(built_in) if built_in is not None and built_in == self.name else self.name

    @property
    def role_list(self) -> list[str]:
        return [role.strip() for role in self.roles.split(",") if role.strip()]

    @property
    def role_labels(self) -> list[str]:
        """The clinician roles who may take it, by their display names."""
        from accounts.models import User

        names = dict(User.Role.choices)
        return [str(names.get(role, role)) for role in self.role_list]

    @property
    def needs_room(self) -> bool:
        return self.mode == self.Mode.IN_PERSON


class Visit(models.Model):
    class Status(models.TextChoices):
        BOOKED = "booked", _("Booked")
        CHECKED_IN = "checked_in", _("Checked in")
        COMPLETED = "completed", _("Completed")
        NO_SHOW = "no_show", _("No-show")
        CANCELLED = "cancelled", _("Cancelled")

    patient = models.ForeignKey("patients.Patient", on_delete=models.CASCADE, related_name="visits")
    clinician = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="visits_taken"
    )
    visit_type = models.ForeignKey(VisitType, on_delete=models.PROTECT, related_name="visits")
    center = models.ForeignKey("accounts.CareCenter", on_delete=models.PROTECT)
    room = models.ForeignKey(Room, null=True, blank=True, on_delete=models.PROTECT)
    start_at = models.DateTimeField(_("start"), db_index=True)
    end_at = models.DateTimeField(_("end"))
    status = models.CharField(
        _("status"), max_length=12, choices=Status.choices, default=Status.BOOKED
    )
    cancel_reason = models.CharField(_("reason for cancelling"), max_length=300, blank=True)
    reschedule_requested = models.BooleanField(_("patient asked to reschedule"), default=False)
    reschedule_note = models.CharField(_("patient's note"), max_length=300, blank=True)
    booked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        on_delete=models.SET_NULL,
        related_name="visits_booked",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    checked_in_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)  # completed, no-show or cancelled

    class Meta:
        ordering = ["start_at"]
        verbose_name = _("visit")
        indexes = [
            models.Index(fields=["clinician", "start_at"]),
            models.Index(fields=["patient", "start_at"]),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(end_at__gt=models.F("start_at")), name="visit_order")
        ]

    def __str__(self) -> str:
        return f"{self.patient} {self.start_at:%Y-%m-%d %H:%M} {self.visit_type}"

    @property
    def is_open(self) -> bool:
        return self.status in (self.Status.BOOKED, self.Status.CHECKED_IN)


class VisitChange(models.Model):
    """The history of a visit: booked, moved (from → to), checked in, cancelled, ..."""

    visit = models.ForeignKey(Visit, on_delete=models.CASCADE, related_name="changes")
    at = models.DateTimeField(default=timezone.now)
    by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL)
    action = models.CharField(max_length=20)
    old_start = models.DateTimeField(null=True, blank=True)
    new_start = models.DateTimeField(null=True, blank=True)
    note = models.CharField(max_length=300, blank=True)

    # The history reads in words (issue #19 §5): each action's label, translated.
    ACTION_LABELS = {
        "booked": _("Booked"),
        "moved": _("Moved"),
        "checked_in": _("Checked in"),
        "completed": _("Completed"),
        "no_show": _("No-show"),
        "cancelled": _("Cancelled"),
        "reschedule_requested": _("Patient asked for another time"),
    }

    class Meta:
        ordering = ["visit", "at", "pk"]

    @property
    def action_label(self) -> str:
        """The action in words: "checked_in" → "Checked in" (an unknown code, readable)."""
        label = self.ACTION_LABELS.get(self.action)
        return str(label) if label is not None else self.action.replace("_", " ").capitalize()


class VisitRequest(models.Model):
    """A patient's request for a visit when no free time suits them (issue #19 §2); staff see
    the open ones and close them once they have booked or called."""

    patient = models.ForeignKey(
        "patients.Patient", on_delete=models.CASCADE, related_name="visit_requests"
    )
    visit_type = models.ForeignKey(VisitType, null=True, blank=True, on_delete=models.SET_NULL)
    note = models.CharField(_("which days or times suit you"), max_length=300)
    created_at = models.DateTimeField(default=timezone.now)
    handled_at = models.DateTimeField(null=True, blank=True)
    handled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )

    class Meta:
        ordering = ["created_at", "pk"]
        verbose_name = _("visit request")
        indexes = [models.Index(fields=["patient", "handled_at"])]

    @property
    def is_open(self) -> bool:
        return self.handled_at is None


class CheckResult(models.TextChoices):
    NORMAL = "normal", _("Normal")
    ABNORMAL = "abnormal", _("Abnormal")
    REFERRED = "referred", _("Referred")


class RetinopathyGrade(models.TextChoices):
    """International Clinical Diabetic Retinopathy severity scale (Wilkinson et al.,
    Ophthalmology 2003), the grade an eye examination reports."""

    NONE = "none", _("No apparent retinopathy")
    MILD = "mild", _("Mild non-proliferative")
    MODERATE = "moderate", _("Moderate non-proliferative")
    SEVERE = "severe", _("Severe non-proliferative")
    PROLIFERATIVE = "proliferative", _("Proliferative")


class FootRisk(models.TextChoices):
    """IWGDF risk stratification (Schaper et al., IWGDF guidelines 2019/2023): categories
    0–3 set how often the feet are screened."""

    VERY_LOW = "0", _("0 — very low risk")
    LOW = "1", _("1 — low risk")
    MODERATE = "2", _("2 — moderate risk")
    HIGH = "3", _("3 — high risk")


# Plausible bounds of a recorded result: outside them it is a typing error, not a finding.
SYSTOLIC_RANGE = (50, 300)  # mmHg
DIASTOLIC_RANGE = (20, 200)  # mmHg
WEIGHT_RANGE_KG = (1, 500)
EGFR_RANGE = (1, 200)  # mL/min/1.73 m²
URINE_ACR_MAX_MG_G = 30000  # nephrotic-range albuminuria (≥ 2200 mg/g) stays far below this


class VisitCompletion(models.Model):
    """What was done at a completed visit: which checks, and (clinicians only) their results.

    Results are data with their unit in the column name; HbA1c is kept in both units (the one
    entered exactly, the other by the IFCC–NGSP master equation, ``glycemia.hba1c``). A result
    recorded counts as its check done on the visit's day (``visits.services.worklist``).
    """

    visit = models.OneToOneField(Visit, on_delete=models.CASCADE, related_name="completion")
    completed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL)
    completed_at = models.DateTimeField(default=timezone.now)
    # Keys of care_plans.services.CHECKS that were done at this visit.
    checks_done = models.JSONField(default=list)
    hba1c_percent = models.DecimalField(
        _("HbA1c (%)"), max_digits=4, decimal_places=1, null=True, blank=True
    )
    eyes = models.CharField(
        _("eye examination"), max_length=10, choices=CheckResult.choices, blank=True
    )
    egfr = models.PositiveSmallIntegerField(_("eGFR (mL/min/1.73 m²)"), null=True, blank=True)
    urine_acr_mg_g = models.DecimalField(
        _("urine albumin/creatinine (mg/g)"), max_digits=6, decimal_places=1, null=True, blank=True
    )
    feet = models.CharField(
        _("foot examination"), max_length=10, choices=CheckResult.choices, blank=True
    )
    hba1c_mmol_mol = models.PositiveSmallIntegerField(_("HbA1c (mmol/mol)"), null=True, blank=True)
    systolic_mm_hg = models.PositiveSmallIntegerField(_("systolic (mmHg)"), null=True, blank=True)
    diastolic_mm_hg = models.PositiveSmallIntegerField(_("diastolic (mmHg)"), null=True, blank=True)
    weight_kg = models.DecimalField(
        _("weight (kg)"), max_digits=4, decimal_places=1, null=True, blank=True
    )
    retinopathy_grade = models.CharField(
        _("retinopathy grade"), max_length=14, choices=RetinopathyGrade.choices, blank=True
    )
    foot_risk = models.CharField(
        _("foot risk category"), max_length=1, choices=FootRisk.choices, blank=True
    )

    class Meta:
        constraints = [
            # HbA1c outside 3–20 % is a typing error, not a result.
            models.CheckConstraint(
                condition=Q(hba1c_percent__isnull=True)
                | (Q(hba1c_percent__gte=3) & Q(hba1c_percent__lte=20)),
                name="completion_hba1c_range",
            ),
            models.CheckConstraint(
                condition=Q(hba1c_mmol_mol__isnull=True)
                | (Q(hba1c_mmol_mol__gte=9) & Q(hba1c_mmol_mol__lte=195)),
                name="completion_hba1c_mmol_mol_range",
            ),
            # Blood pressure is a pair, systolic above diastolic, both plausible.
            models.CheckConstraint(
                condition=(Q(systolic_mm_hg__isnull=True) & Q(diastolic_mm_hg__isnull=True))
                | (
                    Q(systolic_mm_hg__gte=SYSTOLIC_RANGE[0])
                    & Q(systolic_mm_hg__lte=SYSTOLIC_RANGE[1])
                    & Q(diastolic_mm_hg__gte=DIASTOLIC_RANGE[0])
                    & Q(diastolic_mm_hg__lte=DIASTOLIC_RANGE[1])
                    & Q(systolic_mm_hg__gt=models.F("diastolic_mm_hg"))
                ),
                name="completion_blood_pressure",
            ),
            models.CheckConstraint(
                condition=Q(weight_kg__isnull=True)
                | (Q(weight_kg__gte=WEIGHT_RANGE_KG[0]) & Q(weight_kg__lte=WEIGHT_RANGE_KG[1])),
                name="completion_weight_range",
            ),
        ]


class VisitMessage(models.Model):
    """One message about a visit to its patient: claimed once, sent once.

    Unique per (visit, kind, visit start): a reminder belongs to the time it announces, so a
    moved visit gets a new reminder and the old one is skipped; ``status`` is advanced with
    conditional updates (see ``visits.services.visit_message_send``).
    """

    class Kind(models.TextChoices):
        REMINDER = "reminder", _("Reminder")
        MOVED = "moved", _("Moved")
        CANCELLED = "cancelled", _("Cancelled")

    class Status(models.TextChoices):
        PENDING = "pending"
        SENDING = "sending"
        SENT = "sent"
        SKIPPED = "skipped"

    visit = models.ForeignKey(Visit, on_delete=models.CASCADE, related_name="messages")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    visit_start = models.DateTimeField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    claimed_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    sent_at = models.DateTimeField(null=True, blank=True)
    channels = models.CharField(max_length=40, blank=True)  # e.g. "in_app,email,sms"
    # The in-app copy the patient reads, in their language.
    text = models.TextField(blank=True)
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-visit_start"]
        constraints = [
            models.UniqueConstraint(
                fields=["visit", "kind", "visit_start"], name="visit_message_once"
            )
        ]


class DayListSent(models.Model):
    """A clinician's list of the next day's visits was sent: at most once per day."""

    clinician = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE)
    date = models.DateField()
    sent_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["clinician", "date"], name="day_list_once")]


class CalendarFeed(models.Model):
    """A secret .ics address for one person's visits; stored hashed, revoked by rotating."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="calendar_feed"
    )
    token_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now=True)

    @staticmethod
    def hash(token: str) -> str:
        return hashlib.sha256(token.encode()).hexdigest()

    @classmethod
    def issue(cls, user) -> str:
        """A new secret for ``user`` (the old address stops working); returns the token."""
        token = secrets.token_urlsafe(24)
        cls.objects.update_or_create(user=user, defaults={"token_hash": cls.hash(token)})
        return token


# The front desk's recall records (their own module; imported here so Django finds them).
from visits.models_frontdesk import (  # noqa: E402,F401
    Channel,
    ContactPreference,
    Outcome,
    OutreachAttempt,
    WaitlistEntry,
    WaitlistOffer,
)


class BookingRequest(models.Model):
    """A clinician's request that the front desk book the patient a visit (from a
    consultation, say): on the worklist until a visit is booked after it, or it is dismissed.
    ``reason`` is a code the worklist words ("consultation": "asked in a consultation")."""

    patient = models.ForeignKey(
        "patients.Patient", on_delete=models.CASCADE, related_name="booking_requests"
    )
    reason = models.CharField(_("reason"), max_length=40)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    # Staff took it off the worklist without booking (the patient declined, booked elsewhere).
    dismissed_at = models.DateTimeField(null=True, blank=True)
    dismissed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["created_at", "pk"]
        verbose_name = _("booking request")
