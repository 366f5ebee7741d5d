"""Care plans and their immutable versions (DESIGN §3: "care plans are versioned").

A patient has at most one ``CarePlan``; every change is a new ``CarePlanVersion`` numbered
1..n, with author, time, reason and optionally what prompted it (a report, a suggestion,
a consultation: one generic link). The current plan
is the highest number. Versions are never edited or deleted: ``save`` refuses to update an
existing row and ``delete`` refuses outright, so the history a clinician signed stays true.

The clinical content (targets, medications, diet, exercise, monitoring, cadences, checks,
instructions) is one JSON document whose shape ``care_plans.services.care_plan_validate``
enforces; the scheduling numbers other apps query across many patients are copied into
columns on creation so the database can constrain and index them.
"""

from django.apps import apps
from django.conf import settings
from django.contrib.contenttypes.fields import GenericForeignKey
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

# Allowed cadences (days). Reports: weekly, fortnightly or four-weekly (DESIGN §1 loop).
REPORT_CADENCE_DAYS = (7, 14, 28)
DEFAULT_REPORT_CADENCE_DAYS = 14
# Visits and plan reviews: every 2 weeks (pregnancy) up to once a year.
VISIT_CADENCE_DAYS = (14, 28, 42, 56, 90, 120, 180, 365)
REVIEW_INTERVAL_DAYS = VISIT_CADENCE_DAYS


class CarePlan(models.Model):
    """The container of a patient's versions; the row that revisions lock (select_for_update)."""

    patient = models.OneToOneField(
        "patients.Patient",
        on_delete=models.CASCADE,
        related_name="care_plan",
        verbose_name=_("patient"),
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("care plan")

    def __str__(self) -> str:
        return str(_("Care plan of %(patient)s") % {"patient": self.patient})

    @property
    def current(self) -> "CarePlanVersion | None":
        return self.versions.order_by("-number").first()


class ImmutableVersionError(ValidationError):
    pass


class CarePlanVersionQuerySet(models.QuerySet):
    def prompted_by(self, prompt: models.Model):
        """The versions that ``prompt`` (a report, a suggestion, a consultation) prompted."""
        return self.filter(
            prompted_by_type=ContentType.objects.get_for_model(prompt), prompted_by_id=prompt.pk
        )


class CarePlanVersion(models.Model):
    plan = models.ForeignKey(
        CarePlan, on_delete=models.CASCADE, related_name="versions", verbose_name=_("care plan")
    )
    number = models.PositiveIntegerField(_("version"))
    # PROTECT: the author of a signed clinical record must survive; deactivate users instead.
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="care_plan_versions",
        verbose_name=_("author"),
    )
    created_at = models.DateTimeField(_("created"), default=timezone.now, db_index=True)
    reason = models.TextField(_("reason for the change"))
    # What prompted this version: a report, a plan suggestion, a consultation — one generic
    # link (Django's contenttypes), so this app imports none of the apps that prompt changes
    # (DESIGN §2 floors). A prompting object has a ``patient_id``; one that belongs to a report
    # (a suggestion) also has a ``report_id``, which ``responds_to_report_id`` follows.
    prompted_by_type = models.ForeignKey(
        ContentType,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("prompted by (kind)"),
    )
    prompted_by_id = models.PositiveBigIntegerField(_("prompted by (id)"), null=True, blank=True)
    prompted_by = GenericForeignKey("prompted_by_type", "prompted_by_id")
    content = models.JSONField(_("plan"))
    # Copies of content fields other apps query for many patients at once (visits worklist,
    # report scheduling); set from ``content`` on creation, constrained by the database.
    report_cadence_days = models.PositiveSmallIntegerField(
        _("report every (days)"), default=DEFAULT_REPORT_CADENCE_DAYS
    )
    visit_cadence_days = models.PositiveSmallIntegerField(_("visit every (days)"), default=90)
    review_interval_days = models.PositiveSmallIntegerField(_("review every (days)"), default=90)

    objects = CarePlanVersionQuerySet.as_manager()

    class Meta:
        ordering = ["plan", "-number"]
        verbose_name = _("care plan version")
        constraints = [
            models.UniqueConstraint(fields=["plan", "number"], name="care_plan_version_unique"),
            models.CheckConstraint(condition=Q(number__gte=1), name="care_plan_version_positive"),
            models.CheckConstraint(
                condition=Q(report_cadence_days__in=REPORT_CADENCE_DAYS),
                name="care_plan_version_report_cadence",
            ),
            models.CheckConstraint(
                condition=Q(visit_cadence_days__in=VISIT_CADENCE_DAYS),
                name="care_plan_version_visit_cadence",
            ),
            models.CheckConstraint(
                condition=Q(review_interval_days__in=REVIEW_INTERVAL_DAYS),
                name="care_plan_version_review_interval",
            ),
            models.CheckConstraint(condition=~Q(reason=""), name="care_plan_version_has_reason"),
            models.CheckConstraint(
                condition=Q(prompted_by_type__isnull=True, prompted_by_id__isnull=True)
                | Q(prompted_by_type__isnull=False, prompted_by_id__isnull=False),
                name="care_plan_version_prompt_whole",
            ),
        ]
        indexes = [
            models.Index(
                fields=["prompted_by_type", "prompted_by_id"], name="care_plan_version_prompt"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.plan.patient} v{self.number}"

    def save(self, *args, **kwargs):
        """Insert only: a version, once written, is a signed record and never changes."""
        if self.pk is not None and not self._state.adding:
            raise ImmutableVersionError(_("Care plan versions cannot be changed."))
        content = self.content or {}
        self.report_cadence_days = content.get("report_cadence_days", self.report_cadence_days)
        self.visit_cadence_days = content.get("visit_cadence_days", self.visit_cadence_days)
        self.review_interval_days = content.get("review_interval_days", self.review_interval_days)
        kwargs["force_insert"] = True
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise ImmutableVersionError(_("Care plan versions cannot be deleted."))

    @property
    def prompt_token(self) -> str | None:
        """What prompted this version as ``app_label.model:pk`` (the editor's ``?prompt=``)."""
        if self.prompted_by_type_id is None:
            return None
        kind = ContentType.objects.get_for_id(self.prompted_by_type_id)
        return f"{kind.app_label}.{kind.model}:{self.prompted_by_id}"

    @property
    def responds_to_report_id(self) -> int | None:
        """The id of the report this version answers: the prompting report itself, or the
        report a prompting suggestion belongs to; None for other prompts or none."""
        if self.prompted_by_type_id is None:
            return None
        kind = ContentType.objects.get_for_id(self.prompted_by_type_id)
        if (kind.app_label, kind.model) == ("reports", "report"):
            return self.prompted_by_id
        return getattr(self.prompted_by, "report_id", None)

    @property
    def responds_to_report(self):
        """The ``reports.Report`` this version answers, or None."""
        report_id = self.responds_to_report_id
        if report_id is None:
            return None
        return apps.get_model("reports", "Report").objects.filter(pk=report_id).first()

    # Convenience accessors for templates.
    @property
    def targets(self) -> dict:
        return self.content.get("targets", {})

    @property
    def medications(self) -> list[dict]:
        return self.content.get("medications", [])
