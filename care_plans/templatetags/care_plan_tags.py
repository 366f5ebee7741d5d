"""Template helpers for care plans: goal wording in the viewer's unit, the panel's summary.

``{% load care_plan_tags %}`` then ``{{ goal|goal_text:targets }}`` with ``glucose_unit`` in
the context, or ``{% care_plan_status patient as plan %}`` for the workspace panel.
"""

from django import template
from django.utils.translation import gettext as _

from accounts import display as display_layer
from accounts.access import may_edit_care_plan
from accounts.templatetags.glucose import glucose
from care_plans.services import (
    CHECKS,
    MED_FIELD_LABELS,
    MEDICATION_KINDS,
    MONITORING_MODES,
    SMBG_TAGS,
    TITRATION_ALGORITHMS,
    care_plan_current,
    review_due,
    with_schedule_defaults,
)
from glycemia import display

register = template.Library()


@register.simple_tag(takes_context=True)
def goal_text(context, goal, targets=None) -> str:
    """'Time in range (TIR) 3.9–10.0 mmol/L' for the viewer's unit; ``goal`` a dict or key."""
    unit = context.get("glucose_unit", "mg/dL")
    key = goal.get("key") if isinstance(goal, dict) else goal
    return display_layer.goal_label(key, targets, unit)


@register.filter
def comparison_words(comparison: str) -> str:
    return {
        ">": _("more than"),
        ">=": _("at least"),
        "<": _("less than"),
        "<=": _("at most"),
    }.get(comparison, comparison)


@register.filter
def preset_label(targets: dict) -> str:
    """The consensus preset's name in the viewer's language (content stores it in English)."""
    from care_plans.forms import PRESET_LABELS

    preset = (targets or {}).get("preset")
    if preset in PRESET_LABELS and preset != "custom":
        return str(PRESET_LABELS[preset])
    return (targets or {}).get("label", "")


@register.filter
def medication_kind(kind: str) -> str:
    return str(MEDICATION_KINDS.get(kind, kind))


@register.filter
def check_label(check: dict) -> str:
    return str(CHECKS.get(check.get("key"), check.get("label", "")))


@register.filter
def smbg_tag(tag: str) -> str:
    return str(SMBG_TAGS.get(tag, tag))


@register.filter
def titration_algorithm(name: str) -> str:
    """The plan's basal titration table in words; none named says so."""
    if not name:
        return _("none (no basal increase is suggested)")
    return str(TITRATION_ALGORITHMS.get(name, name))


@register.filter
def meal_times(content: dict) -> str:
    """The plan's usual meal times, '07:00, 12:00, 18:00' (the defaults for older plans)."""
    return ", ".join(with_schedule_defaults(content or {}).get("meal_times") or [])


@register.filter
def monitoring_mode(mode: str) -> str:
    return str(MONITORING_MODES.get(mode, mode))


@register.simple_tag
def care_plan_status(patient, user=None) -> dict:
    """``{"current": version|None, "review_due": date|None, "overdue": bool, "may_edit"}``."""
    current = care_plan_current(patient=patient)
    due, overdue = review_due(patient) if current else (None, False)
    may_edit = user is not None and may_edit_care_plan(user, patient)
    return {"current": current, "review_due": due, "overdue": overdue, "may_edit": may_edit}


@register.simple_tag(takes_context=True)
def diff_value(context, change: dict, side: str) -> str:
    """One side (``old``/``new``) of a ``care_plan_diff`` change, as text for the viewer."""
    value = change.get(side)
    unit = context.get("glucose_unit", "mg/dL")
    field = change["field"]
    if value in (None, "", []):
        return "—"
    if field in ("targets.range_low", "targets.range_high"):
        return f"{glucose(value, unit)} {unit}"
    changed = change.get("fields") if change["change"] == "changed" else None
    if field == "medications":
        if changed:  # every changed field, so a new titration rule shows as clearly as a dose
            return "; ".join(
                f"{MED_FIELD_LABELS.get(f, f)}: {_med_field(value, f, unit)}" for f in changed
            )
        return medication_text(value)
    if field == "targets.goals":
        text = f"{value.get('comparison')} {value.get('target')} %"
        if changed and "label" in changed:
            text += f" ({value.get('label')})"
        return text
    if field == "checks":
        text = _("every %(days)s days") % {"days": value.get("interval_days")}
        if changed and "label" in changed:
            text += f" ({value.get('label')})"
        return text
    if field == "monitoring.smbg_tags":
        return ", ".join(smbg_tag(t) for t in value)
    if field == "monitoring.mode":
        return monitoring_mode(value)
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    return str(value)


def _med_field(med: dict, field: str, unit: str) -> str:
    value = med.get(field)
    if value in (None, ""):
        return "—"
    if field == "correction_factor_mg_dl_per_u":
        return display.factor(value, unit)
    if field == "kind":
        return medication_kind(value)
    return str(value)


@register.filter
def medication_text(med: dict) -> str:
    """'Insulin glargine 18 U, bedtime, once daily'."""
    parts = [f"{med.get('product')} {med.get('dose')} {med.get('dose_unit')}"]
    parts += [med[k] for k in ("timing", "frequency") if med.get(k)]
    return ", ".join(parts)
