import unicodedata
import zoneinfo

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from diabetes_center.dates import validate_day

# An MRN ends up in file names, CSV cells and URLs: letters, digits, '-', '_' and '.' only.
validate_mrn = RegexValidator(
    r"\A[A-Za-z0-9][A-Za-z0-9._-]*\Z",
    _("An MRN may hold letters, digits, '-', '_' and '.' only, starting with a letter or digit."),
)
# Characters that reorder or hide text (Trojan Source, CVE-2021-42574) or are not text at all.
BIDI_CONTROLS = frozenset(
    "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
)


def validate_plain_text(value: str) -> None:
    """Names and similar one-line text: no control, bidi-override or private-use characters.

    >>> validate_plain_text("Zhang Wei 张伟")
    >>> validate_plain_text("Eve\u202egnp.exe")
    Traceback (most recent call last):
    ...
    django.core.exceptions.ValidationError: ['Remove control or direction-override characters.']
    """
    for char in value:
        if char in BIDI_CONTROLS or unicodedata.category(char) in ("Cc", "Cs", "Co", "Cn"):
            raise ValidationError(_("Remove control or direction-override characters."))


def validate_timezone(value: str) -> None:
    if value not in zoneinfo.available_timezones():
        raise ValidationError(_("%(value)s is not an IANA time zone."), params={"value": value})


class Patient(models.Model):
    class DiabetesType(models.TextChoices):
        T1 = "T1", _("Type 1")
        T2 = "T2", _("Type 2")
        GDM = "GDM", _("Gestational")
        OTHER = "other", _("Other")

    class Sex(models.TextChoices):
        FEMALE = "F", _("Female")
        MALE = "M", _("Male")
        OTHER = "O", _("Other")
        UNKNOWN = "U", _("Unknown")

    mrn = models.CharField(_("MRN"), max_length=40, unique=True, validators=[validate_mrn])
    name = models.CharField(_("name"), max_length=200, validators=[validate_plain_text])
    birth_date = models.DateField(_("birth date"), validators=[validate_day])
    sex = models.CharField(_("sex"), max_length=1, choices=Sex.choices, default=Sex.UNKNOWN)
    diabetes_type = models.CharField(_("diabetes type"), max_length=8, choices=DiabetesType.choices)
    diagnosis_date = models.DateField(
        _("diagnosis date"), null=True, blank=True, validators=[validate_day]
    )
    timezone = models.CharField(
        _("time zone"), max_length=64, default="UTC", validators=[validate_timezone]
    )
    unit = models.CharField(
        _("glucose unit"),
        max_length=10,
        choices=[("mg/dL", "mg/dL"), ("mmol/L", "mmol/L")],
        default="mg/dL",
    )
    language = models.CharField(
        _("language"), max_length=10, choices=settings.LANGUAGES, default="en"
    )
    phone = models.CharField(_("phone"), max_length=40, blank=True)
    email = models.EmailField(_("e-mail"), blank=True)
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="patient",
        verbose_name=_("patient's own account"),
    )
    care_center = models.ForeignKey(
        "accounts.CareCenter",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="patients",
        verbose_name=_("care center"),
    )
    endocrinologists = models.ManyToManyField(
        settings.AUTH_USER_MODEL,
        blank=True,
        related_name="assigned_patients",
        limit_choices_to={"role": "endocrinologist"},
        verbose_name=_("endocrinologists"),
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("patient")

    def __str__(self) -> str:
        return f"{self.name} ({self.mrn})"

    @property
    def tzinfo(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.timezone)

    @property
    def care_consent_withdrawn(self) -> bool:
        """The patient's newest "care" consent decision is a withdrawal (shown to the team)."""
        latest = self.consents.filter(topic="care").order_by("-at", "-pk").first()
        return latest is not None and not latest.given


class TriageEntry(models.Model):
    """A patient's triage figures and flags, kept up to date on write (``patients.triage``).

    One row per patient, rewritten whenever readings, reports, reviews or care plans change
    and when the 14-day window moves at the patient's local midnight, so the triage page
    sorts, filters and pages with one indexed query instead of recomputing every patient.
    Percentages are of CGM readings (``mode`` "cgm") or of finger-sticks (``meter_*``).
    """

    patient = models.OneToOneField(
        Patient, on_delete=models.CASCADE, primary_key=True, related_name="triage"
    )
    computed_at = models.DateTimeField()
    computed_for = models.DateField(help_text="The patient's local date the window ends on.")
    mode = models.CharField(max_length=8, default="none")  # cgm | meter | none
    range_low = models.FloatField(default=70)
    range_high = models.FloatField(default=180)
    readings = models.IntegerField(default=0)
    active_percent = models.FloatField(null=True)
    mean_mg_dl = models.FloatField(null=True)
    cv_percent = models.FloatField(null=True)
    gmi_percent = models.FloatField(null=True)
    in_range_percent = models.FloatField(null=True, help_text="In the plan's target range.")
    below_percent = models.FloatField(null=True, help_text="Below the plan's lower limit.")
    below_70_percent = models.FloatField(null=True)
    very_low_percent = models.FloatField(null=True)
    above_180_percent = models.FloatField(null=True)
    very_high_percent = models.FloatField(null=True)
    gri = models.FloatField(null=True)
    gri_zone = models.CharField(max_length=1, blank=True)
    gri_hypo = models.FloatField(null=True)
    gri_hyper = models.FloatField(null=True)
    tir_previous = models.FloatField(null=True)
    tir_change = models.FloatField(null=True)
    meter_per_day = models.FloatField(null=True)
    meter_mean_mg_dl = models.FloatField(null=True)
    meter_below_percent = models.FloatField(null=True)
    meter_very_low_percent = models.FloatField(null=True)
    meter_adherence_percent = models.FloatField(null=True)
    last_reading_at = models.DateTimeField(null=True)
    flags = models.JSONField(default=list)
    flag_list = models.CharField(max_length=300, default=",")  # ",very_low,low," for filters
    tier = models.SmallIntegerField(default=5)
    risk_rank = models.IntegerField(default=0)
    last_report_id = models.BigIntegerField(null=True)
    last_report_at = models.DateTimeField(null=True)
    plan_version = models.PositiveIntegerField(null=True)
    plan_preset = models.CharField(max_length=40, blank=True)
    plan_review_due = models.DateField(null=True)
    next_visit_at = models.DateTimeField(null=True)
    visit_due = models.DateField(null=True)
    changed_at = models.DateTimeField(help_text="When the flags last changed or a report came.")
    reviewed_at = models.DateTimeField(null=True)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    review_note = models.TextField(blank=True)
    reviewed = models.BooleanField(default=False, help_text="Reviewed since the last change.")

    class Meta:
        indexes = [
            # The queue reads ``ORDER BY <key>, risk_rank, ... LIMIT 25``: each index gives
            # that order so the scan stops after a page (patients.triage.triage_list).
            models.Index(fields=["risk_rank", "patient"], name="triage_risk"),
            models.Index(fields=["gri", "risk_rank"], name="triage_gri"),
            models.Index(fields=["in_range_percent", "risk_rank"], name="triage_tir"),
            models.Index(fields=["last_reading_at", "risk_rank"], name="triage_last_reading"),
            models.Index(fields=["reviewed_at", "risk_rank"], name="triage_reviewed_at"),
            models.Index(fields=["tir_change", "risk_rank"], name="triage_tir_change"),
            models.Index(fields=["mode", "risk_rank"], name="triage_mode_risk"),
            models.Index(fields=["reviewed", "risk_rank"], name="triage_reviewed_risk"),
        ]


class MonthlySummary(models.Model):
    """A patient's CGM figures for one local month, from the daily rollups.

    Rewritten with the patient's ``TriageEntry`` (``patients.triage.triage_refresh``), so the
    population view reads one small row per patient and month instead of summing rollups.
    Percentages use the consensus 70–180 mg/dL bands.
    """

    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="+")
    month = models.DateField(help_text="The first day of the month.")
    readings = models.IntegerField()
    in_range_percent = models.FloatField()
    below_70_percent = models.FloatField()
    very_low_percent = models.FloatField()
    above_180_percent = models.FloatField()
    very_high_percent = models.FloatField()
    cv_percent = models.FloatField(null=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["patient", "month"], name="monthly_summary_unique")
        ]
        indexes = [models.Index(fields=["month", "patient"], name="monthly_summary_month")]


class TriageReview(models.Model):
    """ "I have looked at this patient": who, when, and an optional note (append-only)."""

    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="reviews")
    by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    at = models.DateTimeField(auto_now_add=True, db_index=True)
    note = models.TextField(blank=True)

    class Meta:
        ordering = ["-at"]


class Consent(models.Model):
    """One consent decision by (or for) a patient: what, which wording, given or withdrawn,
    when and by whom. Append-only: a change of mind is a new row, so the history stays; the
    patient's current answer on a topic is the newest row (``Consent.current_for``).

    ``text`` keeps the exact words the person agreed to (as shown, in their language), beside
    the ``version`` of that wording (``patients.consent.TOPICS``). Withdrawing is recorded and
    shown to the care team; it never erases data (erasure is the admin's "erase on request",
    ``patients.services.patient_erase``). Withdrawing "follower_apps" also revokes the
    patient's read-scope device tokens (``patients.consent.consent_record``).
    """

    class Topic(models.TextChoices):
        CARE = "care", _("Processing my health data for my care")
        FOLLOWER_APPS = "follower_apps", _("Sharing my glucose data with follower apps I choose")

    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="consents")
    topic = models.CharField(_("what"), max_length=20, choices=Topic.choices)
    version = models.CharField(_("version of the wording"), max_length=20)
    text = models.TextField(_("wording agreed to"))
    given = models.BooleanField(_("given"), help_text="False: withdrawn.")
    at = models.DateTimeField(_("when"), default=timezone.now, db_index=True)
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    by_name = models.CharField(_("by"), max_length=150, blank=True)  # kept if the account goes

    class Meta:
        ordering = ["-at", "-pk"]
        verbose_name = _("consent")
        indexes = [models.Index(fields=["patient", "topic", "-at"], name="consent_latest")]

    def __str__(self) -> str:
        state = "given" if self.given else "withdrawn"
        return f"{self.patient_id} {self.topic} v{self.version} {state} {self.at:%Y-%m-%d}"

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise PermissionError("Consent records are append-only: record a new decision.")
        super().save(*args, **kwargs)

    @classmethod
    def current_for(cls, patient: Patient) -> dict[str, "Consent"]:
        """The newest decision per topic: ``{"care": <Consent>, ...}`` (missing: never asked)."""
        current: dict[str, Consent] = {}
        for consent in cls.objects.filter(patient=patient).order_by("-at", "-pk"):
            current.setdefault(consent.topic, consent)
        return current
