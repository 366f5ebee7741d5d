"""Plan suggestions in words, for the report page and its PDF: the rule and kind, the
evidence re-said in the reader's glucose unit, the proposed change field by field, the links
to the part of the report that shows the evidence and to the plan editor."""

from __future__ import annotations

import re

from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from glycemia import display
from glycemia.suggestions import (
    RULE_HYPO,
    RULE_MEAL,
    RULE_OVERBASAL,
    RULE_PREGNANCY,
    RULE_TARGETS_MET,
    RULE_TITRATION,
)

RULE_WORDS = {
    RULE_HYPO: gettext_lazy("Hypoglycaemia first"),
    RULE_OVERBASAL: gettext_lazy("Possible over-basalisation"),
    RULE_TITRATION: gettext_lazy("Basal insulin titration"),
    RULE_MEAL: gettext_lazy("Rise after a meal"),
    RULE_PREGNANCY: gettext_lazy("Pregnancy plan"),
    RULE_TARGETS_MET: gettext_lazy("Goals met"),
}
KIND_WORDS = {
    "basal_decrease": gettext_lazy("Lower the basal insulin"),
    "bolus_decrease": gettext_lazy("Lower the mealtime insulin"),
    "sulfonylurea_decrease": gettext_lazy("Lower or stop the sulfonylurea"),
    "basal_increase": gettext_lazy("Raise the basal insulin"),
    "basal_review": gettext_lazy("Review the basal insulin"),
    "meal_review": gettext_lazy("Review one meal's cover"),
    "no_change": gettext_lazy("No change"),
    "not_for_pregnancy": gettext_lazy("No proposal in pregnancy"),
}
STATE_WORDS = {
    "open": gettext_lazy("open"),
    "accepted": gettext_lazy("accepted"),
    "dismissed": gettext_lazy("dismissed"),
}
FIELD_WORDS = {
    "dose": gettext_lazy("dose"),
    "carb_ratio_g_per_u": gettext_lazy("carb ratio (g per U)"),
}
# Which part of the report shows a rule's evidence (an anchor on the report page).
SECTION = {
    RULE_HYPO: ("agp-title", gettext_lazy("AGP: time of day of the lows")),
    RULE_OVERBASAL: ("agp-title", gettext_lazy("AGP: bedtime to waking")),
    RULE_TITRATION: ("daily-title", gettext_lazy("Daily profiles: the fasting hour")),
    RULE_MEAL: ("agp-title", gettext_lazy("AGP: after the meal")),
    RULE_TARGETS_MET: ("goals-title", gettext_lazy("Glucose metrics and goals")),
}
METER_SECTION = ("hours-title", gettext_lazy("Readings by time of day"))
# Kinds that never open the editor: nothing to change.
NOTHING_TO_USE = frozenset({"no_change", "not_for_pregnancy"})

_MG_RANGE = re.compile(r"(\d+(?:\.\d+)?)–(\d+(?:\.\d+)?) mg/dL")
# Glucose ranges the sources write once with the unit ("140–180 +6 U", "13: 90–150 for
# older adults"): two- or three-digit bounds not followed by a unit; percentages, days and
# hours are small numbers and stay as written.
_BARE = re.compile(r"(?<![\d.])(\d{2,3})–(\d{2,3})(?![\d.])(?! ?%)(?! mg)")
MIN_GLUCOSE_WORDED = 40  # below any glucose a source gives; 10–20 % and 3–5 h stay
_MG = re.compile(r"(\d+(?:\.\d+)?) mg/dL")


def in_unit(text: str, unit: str) -> str:
    """The rules' English evidence (mg/dL) re-said in ``unit`` through the display layer:
    '80–130 mg/dL' -> '4.4–7.2 mmol/L', '146 mg/dL' -> '8.1 mmol/L' (mg/dL: unchanged)."""
    if unit == "mg/dL" or not isinstance(text, str):
        return text or ""
    text = _MG_RANGE.sub(lambda m: display.glucose_range(float(m[1]), float(m[2]), unit), text)
    text = _MG.sub(lambda m: display.glucose(float(m[1]), unit), text)
    return _BARE.sub(_bare_range(unit), text)


def _bare_range(unit: str):
    def convert(m: re.Match) -> str:
        low, high = float(m[1]), float(m[2])
        if min(low, high) < MIN_GLUCOSE_WORDED:
            return m[0]
        return display.glucose_range(low, high, unit)

    return convert


def _medication(content: dict, index: str) -> dict:
    meds = (content or {}).get("medications") or []
    i = int(index) if index.isdigit() else -1
    return meds[i] if 0 <= i < len(meds) and isinstance(meds[i], dict) else {}


def change_rows(suggestion, content: dict) -> list[dict]:
    """The proposed change, one row per field: ``{"what", "from", "to"}`` in words, reading
    medication names from the plan ``content`` the report was made with."""
    rows = []
    for path, step in (suggestion.proposed_change or {}).items():
        if not isinstance(step, dict):
            continue
        parts = path.split(".")
        if parts[0] == "medications" and len(parts) >= 2:
            med = _medication(content, parts[1])
            if not med and isinstance(step.get("from"), dict):
                med = step["from"]
            name = med.get("product") or med.get("kind") or _("medication")
            unit = med.get("dose_unit") or ""
            if len(parts) == 2 and step.get("to") is None:
                rows.append({"what": name, "from": _dose(med, unit), "to": _("stop")})
                continue
            field = parts[2] if len(parts) > 2 else ""
            what = f"{name}, {FIELD_WORDS.get(field, field)}"
            shown_unit = unit if field == "dose" else ""
            rows.append(
                {
                    "what": what,
                    "from": f"{_number(step.get('from'))} {shown_unit}".strip(),
                    "to": f"{_number(step.get('to'))} {shown_unit}".strip(),
                }
            )
        else:
            rows.append({"what": path, "from": str(step.get("from")), "to": str(step.get("to"))})
    return rows


def _number(value) -> str:
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return f"{value:g}" if isinstance(value, int | float) else str(value)


def _dose(med: dict, unit: str) -> str:
    dose = med.get("dose")
    return f"{_number(dose)} {unit}".strip() if dose is not None else ""


def editor_url(suggestion) -> str:
    """The plan editor prefilled with the suggestion (the editor's ``prompt`` parameter)."""
    url = reverse("care-plans-detail", args=[suggestion.patient_id])
    return f"{url}?prompt=reports.suggestion:{suggestion.pk}#care-plan-editor"


def suggestion_rows(report, suggestions, unit: str, content: dict) -> list[dict]:
    """Everything the page and the PDF show of each suggestion."""
    rows = []
    for s in suggestions:
        evidence = s.evidence or {}
        anchor, section = (
            SECTION.get(s.rule, ("goals-title", "")) if report.is_cgm else METER_SECTION
        )
        days_anchor = "daily-title" if report.is_cgm else "hours-title"
        rows.append(
            {
                "s": s,
                "id": s.pk,
                "rule": str(RULE_WORDS.get(s.rule, s.rule)),
                "kind": str(KIND_WORDS.get(s.kind, s.kind)),
                "state": str(STATE_WORDS.get(s.state, s.state)),
                "summary": in_unit(evidence.get("summary", ""), unit),
                "source": in_unit(s.source, unit),  # as published, in the reader's unit
                "days": s.days,
                "days_anchor": days_anchor,
                "section_anchor": anchor,
                "section": str(section),
                "changes": change_rows(s, content),
                "blocked_by": [str(RULE_WORDS.get(b, b)) for b in s.blocked_by or []],
                "may_use": s.is_open and s.kind not in NOTHING_TO_USE and not s.blocked_by,
                "use_url": editor_url(s),
            }
        )
    return rows


METRIC_WORDS = {
    "below_range_percent": gettext_lazy("Time below range (TBR)"),
    "fasting_mg_dl": gettext_lazy("Fasting glucose"),
    "in_range_percent": gettext_lazy("Time in range (TIR)"),
}


def metric_text(key: str, value, unit: str) -> str:
    if value is None:
        return "—"
    if key == "fasting_mg_dl":
        return display.glucose(value, unit)
    return display.percent(value)


def target_text(key: str, comparison: str, target: float, unit: str) -> str:
    if key == "fasting_mg_dl":
        return f"{comparison.replace('<=', '≤')} {display.glucose(target, unit)}"
    return display.goal_text(comparison, target)


def outcome_rows(outcomes: list[dict], unit: str) -> list[dict]:
    """Before → after of each accepted suggestion's metric, with the rule's target."""
    rows = []
    for o in outcomes:
        s = o["suggestion"]
        rows.append(
            {
                "id": s.pk,
                "kind": str(KIND_WORDS.get(s.kind, s.kind)),
                "rule": str(RULE_WORDS.get(s.rule, s.rule)),
                "report_id": s.report_id,
                "metric": str(METRIC_WORDS.get(o["key"], o["key"])),
                "before": metric_text(o["key"], o["before"], unit),
                "after": metric_text(o["key"], o["after"], unit),
                "target": target_text(o["key"], o["comparison"], o["target"], unit),
                "met": None
                if o["after"] is None
                else display.goal_met(o["after"], o["comparison"], o["target"])
                if o["key"] != "fasting_mg_dl"
                else display.glucose_value(o["after"], "mg/dL") <= o["target"],
            }
        )
    return rows
