"""Reading and revising a plan: the current version, a new version (``care_plan_revise``, with
what prompted it) and the diff between two versions in the clinician's words.
"""

from __future__ import annotations

import contextlib
from contextvars import ContextVar
from typing import Any

from django.apps import apps
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db import transaction
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from care_plans.models import CarePlan, CarePlanVersion
from care_plans.services.defaults import (
    CHECKS,
    GOAL_LABELS,
    MEDICATION_KINDS,
    with_schedule_defaults,
)
from care_plans.services.validation import NothingChanged, care_plan_clean
from common.compiled import CompiledRead
from patients.models import Patient

# Inside ``care_plan_reads_shared``: {patient id: current version or None}, else None.
_shared_current: ContextVar[dict | None] = ContextVar("care_plan_current_shared", default=None)


@contextlib.contextmanager
def care_plan_reads_shared():
    """Within the block, ``care_plan_current`` asks the database once per patient: for a
    read-only step that needs the plan in several places (a report's draft reads the cadence
    and then the version in force), so the same version is not fetched twice. Outside it
    every call reads the database, as a revision may have been saved since. Versions read
    inside the block come without their author and plan objects (fetched if asked for)."""
    token = _shared_current.set({})
    try:
        yield
    finally:
        _shared_current.reset(token)


# A shared read's query (a report's draft), compiled once (``common.compiled``): building
# and compiling it was most of its cost (#23).
_CURRENT_VERSION = CompiledRead(
    lambda pk: CarePlanVersion.objects.filter(plan__patient_id=pk).order_by("-number")[:1]
)


_VERSION_BY_ID = CompiledRead(lambda pk: CarePlanVersion.objects.filter(pk=pk).order_by("pk")[:1])


def care_plan_version(pk: int | None) -> CarePlanVersion | None:
    """The version ``pk`` (the one a report was made under), or None when there is none or
    it was removed: one read compiled once (#23)."""
    return None if pk is None else _VERSION_BY_ID.first(pk)


def care_plan_current(*, patient: Patient) -> CarePlanVersion | None:
    shared = _shared_current.get()
    if shared is not None and patient.pk in shared:
        return shared[patient.pk]
    if shared is None:
        # Pages show the version's author and plan. A shared read (a report's draft) uses
        # neither: without the two joins the query costs a third less to build (#23).
        versions = CarePlanVersion.objects.filter(plan__patient=patient).order_by("-number")
        return versions.select_related("created_by", "plan").first()
    version = _CURRENT_VERSION.first(patient.pk)
    shared[patient.pk] = version
    return version


def report_link_error(patient: Patient, report_id: Any) -> str | None:
    """Why ``report_id`` cannot be linked, or None. Only this patient's reports may be cited;
    until the reports app defines ``Report`` any integer id is kept (see the model)."""
    if report_id is None:
        return None
    if isinstance(report_id, bool) or not isinstance(report_id, int):
        return _("A report is given by its id.")
    try:
        report_model = apps.get_model("reports", "Report")
    except LookupError:
        return None
    if not report_model.objects.filter(pk=report_id, patient=patient).exists():
        return _("Report %(id)s is not one of this patient's reports.") % {"id": report_id}
    return None


def prompt_link_error(patient: Patient, prompt) -> str | None:
    """Why ``prompt`` (a suggestion, a consultation: any saved model with a ``patient_id``)
    cannot be named as what prompted this patient's new version, or None."""
    if prompt is None:
        return None
    if getattr(prompt, "pk", None) is None or getattr(prompt, "patient_id", None) != patient.pk:
        return _("What prompted this change is not about this patient.")
    return None


def prompt_token(prompt) -> str:
    """The editor's ``?prompt=`` value naming ``prompt``: ``app_label.model:pk``."""
    meta = prompt._meta
    return f"{meta.app_label}.{meta.model_name}:{prompt.pk}"


def prompt_resolve(patient: Patient, token: Any):
    """The object a ``?prompt=app_label.model:pk`` token names, if it is about ``patient``;
    else None. Any app's object can prompt a change (a suggestion, a consultation) without
    this app importing it: the object is found through contenttypes. Its model opts in with
    ``prompts_plan_changes = True`` and has a ``patient_id``; it may offer
    ``plan_change(content) -> content`` (the plan with the proposed change applied, for the
    editor to start from) and ``report_id`` (the report it belongs to)."""
    if not isinstance(token, str) or len(token) > 120:
        return None
    label, _sep, pk = token.partition(":")
    app_label, _dot, model = label.partition(".")
    if not (app_label and model and pk.isascii() and pk.isdigit() and len(pk) < 19):
        return None
    try:
        model_class = ContentType.objects.get_by_natural_key(app_label, model).model_class()
    except ContentType.DoesNotExist:
        return None
    if model_class is None or not getattr(model_class, "prompts_plan_changes", False):
        return None
    prompt = model_class._default_manager.filter(pk=int(pk)).first()
    if prompt is None or prompt_link_error(patient, prompt):
        return None
    return prompt


def nothing_changed_message(number: int) -> str:
    return _(
        "Nothing changed: this is the same as version %(n)s. Change the plan, or leave it as it is."
    ) % {"n": number}


def care_plan_revise(
    *,
    patient: Patient,
    by,
    reason: str,
    content: dict,
    responds_to_report_id: int | None = None,
    prompted_by=None,
) -> CarePlanVersion:
    """Validate ``content`` and save it as the patient's next version.

    Raises ``ValidationError`` (a dict of field path -> messages) when invalid, and its
    subclass ``NothingChanged`` when the content is the current version's (``care_plan_diff``
    finds no change): a version is a signed change, never a copy. The plan row
    is locked (``select_for_update``) while the next number is chosen, so two clinicians
    saving at once get consecutive numbers; the unique (plan, number) constraint is the
    backstop where the database cannot lock rows (SQLite serializes writers instead).

    What prompted the change is either a report (``responds_to_report_id``, checked to be this
    patient's) or any other prompting object (``prompted_by``: a suggestion, a consultation),
    stored through the version's one generic link.
    """
    clean, errors = care_plan_clean(content)
    reason = (reason or "").strip()
    if not reason:
        errors["reason"] = [_("Say why the plan changes.")]
    report_error = report_link_error(patient, responds_to_report_id)
    if report_error:
        errors["responds_to_report"] = [report_error]
    prompt_error = prompt_link_error(patient, prompted_by)
    if prompt_error:
        errors["prompted_by"] = [prompt_error]
    if errors:
        raise ValidationError(errors)
    plan, _created = CarePlan.objects.get_or_create(patient=patient)
    with transaction.atomic():
        plan = CarePlan.objects.select_for_update().get(pk=plan.pk)
        last = plan.versions.order_by("-number").first()
        if last is not None and not care_plan_diff(old=last, new=clean):
            raise NothingChanged({NON_FIELD_ERRORS: [nothing_changed_message(last.number)]})
        return CarePlanVersion.objects.create(
            plan=plan,
            number=(last.number if last else 0) + 1,
            created_by=by,
            reason=reason,
            content=clean,
            prompted_by=prompted_by or _report(responds_to_report_id),
        )


def _report(report_id: int | None):
    """The report row for an id already checked by ``report_link_error``."""
    if report_id is None:
        return None
    return apps.get_model("reports", "Report").objects.get(pk=report_id)


# --- Diff ---------------------------------------------------------------------------------

_SCALAR_FIELDS = (
    ("targets.preset", gettext_lazy("Target preset")),
    ("targets.range_low", gettext_lazy("Target range, lower limit")),
    ("targets.range_high", gettext_lazy("Target range, upper limit")),
    ("hba1c_goal_percent", gettext_lazy("HbA1c goal (%)")),
    ("diet.carb_g_per_day", gettext_lazy("Carbohydrate (g/day)")),
    ("diet.kcal_per_day", gettext_lazy("Energy (kcal/day)")),
    ("diet.notes", gettext_lazy("Diet notes")),
    ("exercise.minutes_per_week", gettext_lazy("Exercise (minutes/week)")),
    ("exercise.notes", gettext_lazy("Exercise notes")),
    ("monitoring.mode", gettext_lazy("Monitoring")),
    ("monitoring.cgm_wear_goal_percent", gettext_lazy("CGM wear goal (%)")),
    ("monitoring.smbg_readings_per_day", gettext_lazy("Finger-sticks per day")),
    ("monitoring.smbg_tags", gettext_lazy("Finger-stick times")),
    ("monitoring.seven_point_before_visits", gettext_lazy("7-point profile before visits")),
    ("report_cadence_days", gettext_lazy("Report every (days)")),
    ("visit_cadence_days", gettext_lazy("Visit every (days)")),
    ("review_interval_days", gettext_lazy("Review every (days)")),
    ("patient_instructions", gettext_lazy("Instructions for the patient")),
    ("wake_time", gettext_lazy("Wakes at")),
    ("bedtime", gettext_lazy("Goes to bed at")),
    ("meal_times", gettext_lazy("Meal times")),
    ("titration_algorithm", gettext_lazy("Basal titration")),
)
_MED_FIELDS = (
    "dose",
    "dose_unit",
    "timing",
    "frequency",
    "carb_ratio_g_per_u",
    "correction_factor_mg_dl_per_u",
    "titration_rule",
)


def _get(content: dict, path: str) -> Any:
    value: Any = content
    for part in path.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    return value


def _content_of(version: CarePlanVersion | dict | None) -> dict:
    if version is None:
        return {}
    return version.content if isinstance(version, CarePlanVersion) else version


def _keyed_diff(old: list, new: list, key, field: str, label, compare: tuple) -> list[dict]:
    changes = []
    old_by = {key(item): item for item in old}
    new_by = {key(item): item for item in new}
    for k, item in new_by.items():
        if k not in old_by:
            changes.append(
                {
                    "field": field,
                    "key": k,
                    "label": label(item),
                    "change": "added",
                    "old": None,
                    "new": item,
                }
            )
            continue
        before = old_by[k]
        extra = sorted((set(before) | set(item)) - set(compare))  # fields added later too
        fields = [f for f in (*compare, *extra) if before.get(f) != item.get(f)]
        if fields:
            changes.append(
                {
                    "field": field,
                    "key": k,
                    "label": label(item),
                    "change": "changed",
                    "old": before,
                    "new": item,
                    "fields": fields,
                }
            )
    for k, item in old_by.items():
        if k not in new_by:
            change = "stopped" if field == "medications" else "removed"
            changes.append(
                {
                    "field": field,
                    "key": k,
                    "label": label(item),
                    "change": change,
                    "old": item,
                    "new": None,
                }
            )
    return changes


def care_plan_diff(
    *, old: CarePlanVersion | dict | None, new: CarePlanVersion | dict
) -> list[dict]:
    """What changed between two versions (or contents), field by field.

    Each change is ``{"field", "label", "change", "old", "new"}`` with ``change`` one of
    ``changed``, ``added``, ``removed`` and, for medications, ``stopped``; medications are
    matched by kind + product (case-insensitive), so a new dose of the same insulin is a
    change and a switch of product is a stop plus an addition. Changed list items carry
    ``fields`` (which of their fields differ).

    >>> care_plan_diff(old=v1, new=v2)
    [{'field': 'medications', 'label': 'Insulin glargine', 'change': 'changed',
      'old': {... 'dose': 18 ...}, 'new': {... 'dose': 20 ...}, 'fields': ['dose']}]
    """
    # A plan saved before the schedule fields existed reads them as their defaults.
    a, b = with_schedule_defaults(_content_of(old)), with_schedule_defaults(_content_of(new))
    changes = []
    for path, label in _SCALAR_FIELDS:
        before, after = _get(a, path), _get(b, path)
        if before != after:
            kind = "added" if before in (None, "", []) else "changed"
            if after in (None, "", []):
                kind = "removed"
            changes.append(
                {"field": path, "label": str(label), "change": kind, "old": before, "new": after}
            )
    changes += _keyed_diff(
        _get(a, "targets.goals") or [],
        _get(b, "targets.goals") or [],
        key=lambda g: g.get("key"),
        field="targets.goals",
        label=lambda g: str(GOAL_LABELS.get(g.get("key"), g.get("label") or g.get("key"))),
        compare=("comparison", "target", "label"),
    )
    changes += _keyed_diff(
        a.get("medications") or [],
        b.get("medications") or [],
        key=lambda m: (m.get("kind"), (m.get("product") or "").lower()),
        field="medications",
        label=lambda m: m.get("product") or str(MEDICATION_KINDS.get(m.get("kind"), "")),
        compare=_MED_FIELDS,
    )
    changes += _keyed_diff(
        a.get("checks") or [],
        b.get("checks") or [],
        key=lambda c: c.get("key"),
        field="checks",
        label=lambda c: str(CHECKS.get(c.get("key"), c.get("label") or c.get("key"))),
        compare=("interval_days", "label"),
    )
    return changes + _other_changes(a, b)


MED_FIELD_LABELS = {
    "kind": gettext_lazy("Kind"),
    "product": gettext_lazy("Product"),
    "dose": gettext_lazy("Dose"),
    "dose_unit": gettext_lazy("Unit"),
    "timing": gettext_lazy("When"),
    "frequency": gettext_lazy("How often"),
    "carb_ratio_g_per_u": gettext_lazy("Carb ratio (g per U)"),
    "correction_factor_mg_dl_per_u": gettext_lazy("Correction factor"),
    "titration_rule": gettext_lazy("Titration rule"),
}


def _leaves(value: Any, path: str = "") -> dict[str, Any]:
    """Every leaf of a plan's content by dotted path (list items by index)."""
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for key, item in value.items():
            out.update(_leaves(item, f"{path}.{key}" if path else str(key)))
        return out
    if isinstance(value, list) and any(isinstance(item, dict) for item in value):
        out = {}
        for i, item in enumerate(value):
            out.update(_leaves(item, f"{path}.{i}"))
        return out
    return {path: value}


def _other_changes(a: dict, b: dict) -> list[dict]:
    """Any other field that differs (the plan's label, a field added to the content later):
    nothing a clinician changed may be missing from the review step or the compare page."""
    keyed = ("targets.goals", "medications", "checks")
    scalar = {path for path, _label in _SCALAR_FIELDS}
    old, new = _leaves(a), _leaves(b)
    return [
        {
            "field": path,
            "label": path,
            "change": "changed",
            "old": old.get(path),
            "new": new.get(path),
        }
        for path in sorted(set(old) | set(new))
        if old.get(path) != new.get(path)
        and path not in scalar
        and not any(path == k or path.startswith(f"{k}.") for k in keyed)
    ]
