"""Health reports: immutable snapshots of a period's glucose metrics, and their notifications.

A report stores what it showed — metrics, targets in force, evaluation, comparison, patterns,
the care plan version and the algorithm version — so it reads the same in five years whatever
changes in the code, the care plan or the readings (DESIGN §3: a recomputation makes a new
report). Only the clinician's note may change later (``Report.note_set``).

``care_plan_version_id`` is a plain BigInteger, not a foreign key: ``care_plans`` is built in
parallel and a report must stay valid (and migratable) even if a plan version is removed; the
page looks the version up by id when it shows the link.
"""

import copy

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

ALGORITHM_VERSION = "glycemia-1"  # bump when glycemia changes what a report would show

# What may change after a report is made: the care team's internal note, and the message to
# the patient (two texts with two audiences: the patient never sees the internal note).
NOTE_FIELDS = frozenset(
    {"clinician_note", "note_by", "note_at", "patient_message", "message_by", "message_at"}
)


class ImmutableReportError(Exception):
    """Raised when code tries to change a stored report (other than its clinician's note)."""


class Report(models.Model):
    class Kind(models.TextChoices):
        CGM = "cgm", _("CGM")
        SMBG = "smbg", _("Finger-stick (SMBG)")

    patient = models.ForeignKey(
        "patients.Patient", on_delete=models.CASCADE, related_name="reports"
    )
    period_start = models.DateField(_("period start"))  # local dates, inclusive
    period_end = models.DateField(_("period end"))
    kind = models.CharField(_("kind"), max_length=4, choices=Kind.choices)
    cadence_days = models.PositiveSmallIntegerField(default=14)  # cadence in force; due-check
    metrics = models.JSONField(default=dict)
    targets = models.JSONField(default=dict)
    goals = models.JSONField(default=list)
    comparison = models.JSONField(default=list)
    patterns = models.JSONField(default=list)
    previous = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    care_plan_version_id = models.BigIntegerField(null=True, blank=True)
    care_plan_version_number = models.PositiveIntegerField(null=True, blank=True)
    algorithm_version = models.CharField(max_length=40, default=ALGORITHM_VERSION)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    clinician_note = models.TextField(_("clinician's note"), blank=True)
    note_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    note_at = models.DateTimeField(null=True, blank=True)
    patient_message = models.TextField(_("message to the patient"), blank=True)
    message_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    message_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-period_end", "-pk"]
        verbose_name = _("health report")
        constraints = [
            models.UniqueConstraint(
                fields=["patient", "period_start", "period_end", "kind"],
                name="report_unique_period",
            )
        ]
        indexes = [models.Index(fields=["patient", "-period_end"])]

    def __str__(self) -> str:
        return f"{self.patient} {self.period_start}–{self.period_end} ({self.kind})"

    def save(self, *args, **kwargs):
        """Reports are written once; afterwards only the note fields may be saved."""
        if self.pk is not None and not self._state.adding:
            fields = kwargs.get("update_fields")
            if fields is None or not set(fields) <= NOTE_FIELDS:
                raise ImmutableReportError("A report is immutable; only its note may change.")
        super().save(*args, **kwargs)

    def note_set(self, *, text: str, by) -> None:
        """The internal clinical note: read by the care team only, never by the patient."""
        self.clinician_note = text.strip()
        self.note_by = by
        self.note_at = timezone.now()
        self.save(update_fields=["clinician_note", "note_by", "note_at"])

    def message_set(self, *, text: str, by) -> None:
        """The message to the patient: shown on their report and their home page."""
        self.patient_message = text.strip()
        self.message_by = by
        self.message_at = timezone.now()
        self.save(update_fields=["patient_message", "message_by", "message_at"])

    @property
    def is_cgm(self) -> bool:
        return self.kind == self.Kind.CGM

    @property
    def days(self) -> int:
        return (self.period_end - self.period_start).days + 1


class ReportNotification(models.Model):
    """One unread-report entry in a clinician's list; read when they open the report."""

    report = models.ForeignKey(Report, on_delete=models.CASCADE, related_name="notifications")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="report_notifications"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["report", "user"], name="report_notification_unique")
        ]
        indexes = [models.Index(fields=["user", "read_at"])]


class SuggestionStateError(Exception):
    """A decision on a suggestion that is no longer open (accepted or dismissed already)."""


# What a suggestion may change after it is made: its decision. The rule's output is stored
# with the report and, like the report, never changes.
DECISION_FIELDS = frozenset({"state", "decided_by", "decided_at", "dismiss_reason"})


class Suggestion(models.Model):
    """One proposed plan change of a report (issue #21), computed by the pure rules
    (``glycemia.suggestions``) when the report is made and stored with it.

    ``evidence`` is ``{"days": [ISO dates], "summary": English text, "params": the numbers in
    it}``; ``proposed_change`` is ``{dotted field path: {"from", "to"}}`` or None (a review
    without a number, a blocked increase, "no change"). A clinician accepts it by saving the
    plan version that names it (``CarePlanVersion.prompted_by``; ``reports.signals`` marks it
    accepted) or dismisses it with a reason. Patients never see suggestions.

    ``patient`` repeats the report's patient: the care plan checks ``patient_id`` of whatever
    prompts a version, and every patient-keyed table carries it (DESIGN §6).
    """

    class State(models.TextChoices):
        OPEN = "open", _("open")
        ACCEPTED = "accepted", _("accepted")
        DISMISSED = "dismissed", _("dismissed")

    report = models.ForeignKey(Report, on_delete=models.CASCADE, related_name="suggestions")
    patient = models.ForeignKey(
        "patients.Patient", on_delete=models.CASCADE, related_name="plan_suggestions"
    )
    position = models.PositiveSmallIntegerField(default=0)  # the rules' order on the report
    rule = models.CharField(_("rule"), max_length=40)
    kind = models.CharField(_("kind"), max_length=40)
    source = models.TextField(_("source"))
    evidence = models.JSONField(default=dict)
    proposed_change = models.JSONField(null=True, blank=True)
    blocked_by = models.JSONField(default=list)
    state = models.CharField(
        _("state"), max_length=10, choices=State.choices, default=State.OPEN, db_index=True
    )
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    dismiss_reason = models.TextField(_("reason for dismissing"), blank=True)

    class Meta:
        ordering = ["report", "position", "pk"]
        verbose_name = _("plan suggestion")
        constraints = [
            # patient first: every patient-keyed table carries it in its keys (DESIGN §6).
            models.UniqueConstraint(
                fields=["patient", "report", "position"], name="suggestion_unique_position"
            ),
            models.CheckConstraint(
                condition=models.Q(state__in=["open", "accepted", "dismissed"]),
                name="suggestion_state_known",
            ),
            models.CheckConstraint(
                condition=~models.Q(state="dismissed") | ~models.Q(dismiss_reason=""),
                name="suggestion_dismissed_has_reason",
            ),
            models.CheckConstraint(
                condition=models.Q(state="open") | models.Q(decided_at__isnull=False),
                name="suggestion_decided_has_time",
            ),
        ]
        indexes = [models.Index(fields=["patient", "rule"], name="suggestion_patient_rule")]

    # The plan editor may start from this suggestion (``?prompt=reports.suggestion:<id>``)
    # and the saved version names it (``care_plans.services.prompt_resolve``).
    prompts_plan_changes = True

    def __str__(self) -> str:
        from reports.suggestion_wording import KIND_WORDS

        kind = KIND_WORDS.get(self.kind, self.kind)
        return _("suggestion “%(kind)s” of report #%(report)s") % {
            "kind": kind,
            "report": self.report_id,
        }

    def save(self, *args, **kwargs):
        """Written once with the report; afterwards only the decision may be saved."""
        if self.pk is not None and not self._state.adding:
            fields = kwargs.get("update_fields")
            if fields is None or not set(fields) <= DECISION_FIELDS:
                raise ImmutableReportError(
                    "A suggestion is stored with its report; only its decision may change."
                )
        super().save(*args, **kwargs)

    @property
    def is_open(self) -> bool:
        return self.state == self.State.OPEN

    @property
    def proposes_change(self) -> bool:
        return bool(self.proposed_change)

    @property
    def days(self) -> list[str]:
        days = (self.evidence or {}).get("days")
        return days if isinstance(days, list) else []

    def plan_change(self, content: dict) -> dict:
        """A copy of the plan ``content`` with this suggestion's change applied: what the plan
        editor is prefilled with (never saved by itself). A field whose value is no longer the
        suggestion's ``from`` (the plan changed since the report) is left as it is; a
        medication to stop (``{"medications.2": {"to": None}}``) is removed.

        >>> s.proposed_change
        {'medications.0.dose': {'from': 20, 'to': 28}}
        >>> s.plan_change({"medications": [{"dose": 20}]})
        {'medications': [{'dose': 28}]}
        """
        out = copy.deepcopy(content) if isinstance(content, dict) else {}
        removals = []
        for path, step in (self.proposed_change or {}).items():
            if not isinstance(step, dict) or not isinstance(path, str):
                continue
            parent, key = _walk(out, path)
            if parent is None or _read(parent, key) != step.get("from"):
                continue
            if step.get("to") is None and isinstance(parent, list):
                removals.append((parent, key))
            else:
                parent[key] = step.get("to")
        for parent, index in sorted(removals, key=lambda r: r[1], reverse=True):
            del parent[index]
        return out

    def applies_to(self, content: dict) -> bool:
        """Whether every field the suggestion changes still holds its ``from`` value."""
        for path, step in (self.proposed_change or {}).items():
            parent, key = _walk(content, path) if isinstance(path, str) else (None, None)
            if parent is None or not isinstance(step, dict):
                return False
            if _read(parent, key) != step.get("from"):
                return False
        return bool(self.proposed_change)


def _walk(content, path: str):
    """(container, key) of a dotted path into plan content ('medications.0.dose'), or
    (None, None) when a step is missing."""
    parts = path.split(".")
    node = content
    for part in parts[:-1]:
        node = _read(node, _key(node, part))
        if node is None:
            return None, None
    key = _key(node, parts[-1])
    if isinstance(node, list) and not (isinstance(key, int) and 0 <= key < len(node)):
        return None, None
    if not isinstance(node, dict | list) or (isinstance(node, dict) and key not in node):
        return None, None
    return node, key


def _key(node, part: str):
    if isinstance(node, list):
        return int(part) if part.isdigit() else None
    return part


def _read(node, key):
    if isinstance(node, dict):
        return node.get(key)
    if isinstance(node, list) and isinstance(key, int) and 0 <= key < len(node):
        return node[key]
    return None
