"""Plan suggestions in words, for the report page and its PDF: the rule and kind, the
evidence worded from the rule's params in the reader's language and glucose unit
(``evidence_text``), the proposed change field by field, the links to the part of the report
that shows the evidence and to the plan editor."""

from __future__ import annotations

import datetime as dt
import re
from functools import reduce

from django.urls import reverse
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from accounts import display as display_layer
from glycemia import constants as c
from glycemia import display
from glycemia.suggestions import (
    RULE_HYPO,
    RULE_MEAL,
    RULE_OVERBASAL,
    RULE_PREGNANCY,
    RULE_TARGETS_MET,
    RULE_TITRATION,
)
from glycemia.suggestions.basal import NO_INCREASE_BELOW_MG_DL
from glycemia.suggestions.lows import OVERBASAL_FALL_MG_DL, OVERBASAL_UNITS_PER_KG

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

DRUG_WORDS = {
    "basal_decrease": gettext_lazy("basal insulin"),
    "bolus_decrease": gettext_lazy("mealtime insulin"),
    "sulfonylurea_decrease": gettext_lazy("sulfonylurea"),
}
TIMING_WORDS = {
    "overnight": gettext_lazy("overnight (00:00–06:00)"),
    "after_meal": gettext_lazy("within 4 h after meals"),
    "daytime": gettext_lazy("during the day, not after a meal"),
}
BLOCKER_WORDS = {
    RULE_HYPO: gettext_lazy("time below range is over its goal"),
    RULE_OVERBASAL: gettext_lazy("over-basalisation is possible"),
}
ALGORITHM_WORDS = {
    "treat_to_target": gettext_lazy("Treat-to-Target (Riddle 2003)"),
    "ada_2_units_every_3_days": gettext_lazy("ADA: +2 U every 3 days"),
}
MEAL_WORDS = {
    "breakfast": gettext_lazy("breakfast"),
    "lunch": gettext_lazy("lunch"),
    "dinner": gettext_lazy("dinner"),
}

# The sources (quoted as published) and, as a fallback only, the English summaries of old
# rows (or of anything ``evidence_text`` cannot rebuild from params) are re-said in the
# reader's unit by these patterns.
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


def _and(items) -> str:
    """'a', 'a and b', 'a and b and c' in the reader's language."""
    return reduce(lambda a, b: _("%(a)s and %(b)s") % {"a": a, "b": b}, [str(i) for i in items])


def _dose_words(value, unit: str) -> str:
    return f"{_number(value)} {unit or ''}".strip()


def _hypo_words(kind: str, p: dict, unit: str) -> str:
    threshold = display.glucose(p["threshold_mg_dl"], unit)
    very_low = display.glucose(c.VERY_LOW_BELOW, unit)
    if "below_percent" in p:
        finding = _(
            "Time below %(threshold)s %(below)s (goal %(below_goal)s), below %(very_low)s "
            "%(very_low_percent)s (goal %(very_low_goal)s)."
        ) % {
            "threshold": threshold,
            "below": display.percent(p["below_percent"]),
            "below_goal": display.goal_text("<", p["below_goal"]),
            "very_low": very_low,
            "very_low_percent": display.percent(p["very_low_percent"]),
            "very_low_goal": display.goal_text("<", p["very_low_goal"]),
        }
    else:
        finding = _(
            "Finger-sticks below %(threshold)s on %(days)s days, %(n)s below %(very_low)s."
        ) % {
            "threshold": threshold,
            "days": p["low_days"],
            "n": p["very_low_readings"],
            "very_low": very_low,
        }
    drug = DRUG_WORDS[kind]
    n = int(p["lows_days"])
    lows = ngettext(
        "Lows %(when)s on %(n)s day point to the %(drug)s.",
        "Lows %(when)s on %(n)s days point to the %(drug)s.",
        n,
    ) % {"when": _and(TIMING_WORDS[w] for w in p["timing"]), "n": n, "drug": drug}
    actions = []
    for a in p["actions"]:
        name = a["product"] or drug
        values = {
            "name": name,
            "from": _dose_words(a["from"], a["unit"]),
            "to": _dose_words(a["to"], a["unit"]),
        }
        if a["verb"] == "stop":
            actions.append(
                _("Stop %(name)s (%(from)s): time below %(very_low)s is over goal.")
                % {**values, "very_low": very_low}
            )
        elif a["verb"] == "halve":
            actions.append(_("Halve %(name)s: %(from)s → %(to)s.") % values)
        elif a.get("ratio_from") is not None:
            actions.append(
                _(
                    "Lower %(name)s by %(percent)s: %(from)s → %(to)s; carbohydrate ratio "
                    "%(ratio_from)s → %(ratio_to)s g/U."
                )
                % {
                    **values,
                    "percent": f"{int(p['step_percent'])} %",
                    "ratio_from": _number(a["ratio_from"]),
                    "ratio_to": _number(a["ratio_to"]),
                }
            )
        else:
            actions.append(
                _("Lower %(name)s by %(percent)s: %(from)s → %(to)s.")
                % {**values, "percent": f"{int(p['step_percent'])} %"}
            )
    if not actions:
        raise KeyError("actions")
    return " ".join([finding, lows, *actions])


def _overbasal_words(p: dict, unit: str) -> str:
    signals = []
    if "units_per_kg" in p and p["units_per_kg"] > OVERBASAL_UNITS_PER_KG:
        signals.append(
            _(
                "basal insulin %(total)s U/day is %(per_kg)s U/kg (above %(limit)s U/kg at "
                "%(weight)s kg)"
            )
            % {
                "total": f"{p['basal_units_per_day']:g}",
                "per_kg": f"{p['units_per_kg']:.2f}",
                "limit": f"{OVERBASAL_UNITS_PER_KG:g}",
                "weight": f"{p['weight_kg']:g}",
            }
        )
    if "median_fall_mg_dl" in p:
        signals.append(
            _(
                "glucose fell ≥ %(fall)s from bedtime to waking on %(n)s of %(nights)s nights "
                "(median fall %(median)s)"
            )
            % {
                "fall": display.glucose(OVERBASAL_FALL_MG_DL, unit),
                "n": p["nights_with_fall"],
                "nights": p["nights"],
                "median": display.glucose(p["median_fall_mg_dl"], unit),
            }
        )
    if not signals:
        raise KeyError("signals")
    return _(
        "Possible over-basalisation: %(signals)s. Review the basal dose and whether mealtime "
        "cover (prandial insulin or a GLP-1 RA) is needed, rather than raising it."
    ) % {"signals": _("; ").join(signals)}


def _titration_words(p: dict, unit: str) -> str:
    low, high = p["fasting_goal_mg_dl"]
    head = _(
        "Mean fasting glucose %(mean)s over the last %(n)s days with a fasting value, above "
        "the fasting goal (%(goal)s), no fasting value below %(floor)s."
    ) % {
        "mean": display.glucose(p["mean_fasting_mg_dl"], unit),
        "n": p["fasting_days"],
        "goal": display.glucose_range(low, high, unit),
        "floor": display.glucose(NO_INCREASE_BELOW_MG_DL, unit),
    }
    algorithm = ALGORITHM_WORDS[p["algorithm"]]
    if p["blockers"]:
        tail = _("%(algorithm)s: no increase is proposed while %(blockers)s.") % {
            "algorithm": algorithm,
            "blockers": _and(BLOCKER_WORDS[b] for b in p["blockers"]),
        }
    else:
        dose_unit = p["dose_unit"]
        tail = _("%(algorithm)s: raise %(product)s by %(step)s %(unit)s: %(from)s → %(to)s.") % {
            "algorithm": algorithm,
            "product": p["product"] or DRUG_WORDS["basal_decrease"],
            "step": _number(p["step_units"]),
            "unit": dose_unit,
            "from": _dose_words(p["dose_from"], dose_unit),
            "to": _dose_words(p["dose_to"], dose_unit),
        }
    return f"{head} {tail}"


def _meal_words(p: dict, unit: str) -> str:
    from reports.wording import pattern_text

    meal = MEAL_WORDS[p["meal"]]
    finding = ""
    if p["pattern_text"]:
        finding = pattern_text({"code": p["pattern_code"], "params": p, "text": ""}, unit)
        if not finding:
            raise KeyError("pattern_code")
    else:
        finding = _("Rise after %(meal)s on most days.") % {"meal": meal}
    if p["bolus"]:
        review = _(
            "Review the %(meal)s insulin dose or its carbohydrate ratio, or the %(meal)s "
            "carbohydrate; the plan carries no per-meal doses, so no number is proposed."
        )
    else:
        review = _(
            "Review the %(meal)s carbohydrate, or mealtime cover for it (prandial insulin or a "
            "GLP-1 RA); the plan carries no per-meal doses, so no number is proposed."
        )
    words = [finding, review % {"meal": meal}]
    if p["lows_first"]:
        words.append(_("Time below range is over its goal: address the lows first."))
    return " ".join(words)


def _goal_words(goal: dict, targets: dict, unit: str) -> str:
    if "tag" in goal:
        from reports.figures import meal_tag_label

        low, high = goal["low"], goal["high"]
        if low is not None and high is not None:
            wanted = display.glucose_range(low, high, unit)
        else:
            wanted = (
                f"≤ {display.glucose(high, unit)}"
                if high is not None
                else f"≥ {display.glucose(low, unit)}"
            )
        return _("%(tag)s mean %(value)s (goal %(goal)s)") % {
            "tag": meal_tag_label(goal["tag"]),
            "value": display.glucose(goal["value"], unit),
            "goal": wanted,
        }
    label = display_layer.goal_label(goal["key"], targets, unit)
    return _("%(label)s %(value)s (goal %(goal)s)") % {
        "label": goal.get("label", goal["key"]) if label == goal["key"] else label,
        "value": display.percent(goal["value"]),
        "goal": display.goal_text(goal["comparison"], goal["target"]),
    }


def _targets_met_words(p: dict, unit: str, targets: dict) -> str:
    if not p["goals"]:
        raise KeyError("goals")
    return _("Every goal of the plan is met: %(goals)s. No change proposed.") % {
        "goals": _("; ").join(_goal_words(g, targets, unit) for g in p["goals"])
    }


def _pregnancy_words(p: dict) -> str:
    words = [
        _(
            "Pregnancy plan: insulin needs change week by week in pregnancy and doses are set "
            "by the specialist team, so these rules propose no change."
        )
    ]
    if p["lows_over_goal"]:
        words.append(_("Lows are over the plan's goal: review them with the team."))
    return " ".join(words)


def evidence_text(rule: str, kind: str, evidence: dict, unit: str, targets=None) -> str:
    """A suggestion's evidence in the reader's language and glucose unit, worded from the
    rule, kind and ``params``; the stored English summary (in the reader's unit) for a row
    whose params cannot say it (old rows, unknown rules)."""
    evidence = evidence if isinstance(evidence, dict) else {}
    p = evidence.get("params")
    if isinstance(p, dict) and p:
        try:
            if rule == RULE_HYPO:
                return _hypo_words(kind, p, unit)
            if rule == RULE_OVERBASAL:
                return _overbasal_words(p, unit)
            if rule == RULE_TITRATION:
                return _titration_words(p, unit)
            if rule == RULE_MEAL:
                return _meal_words(p, unit)
            if rule == RULE_TARGETS_MET:
                return _targets_met_words(p, unit, targets or {})
            if rule == RULE_PREGNANCY:
                return _pregnancy_words(p)
        except (KeyError, TypeError, ValueError, AttributeError, IndexError):
            pass
    return in_unit(evidence.get("summary", ""), unit)


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


def day_links(report, days) -> list[tuple[str, str]]:
    """Each evidence day as (the date in the reader's words, the workspace's daily view of
    that day); a day that does not read as a date is left out."""
    links = []
    for day in days or []:
        try:
            when = dt.date.fromisoformat(str(day))
        except ValueError:
            continue
        url = reverse("patients-day", args=[report.patient_id]) + f"?date={when.isoformat()}"
        links.append((date_format(when, "DATE_FORMAT"), url))
    return links


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
                "summary": evidence_text(s.rule, s.kind, evidence, unit, report.targets),
                "source": in_unit(s.source, unit),  # as published, in the reader's unit
                "days": s.days,
                "day_links": day_links(report, s.days),
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
