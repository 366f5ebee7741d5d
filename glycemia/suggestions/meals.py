"""Plan suggestions, rule 4: post-meal review (``meal_rules`` → ``meal_review``). A
rise-after-a-meal finding of the report (``reports.patterns``) proposes reviewing that meal's
insulin dose or carbohydrate ratio, or its carbohydrate; no number, as the plan carries no
per-meal doses.
"""

from __future__ import annotations

import datetime as dt

from glycemia.series import parse_date

from .case import Case
from .common import RULE_MEAL, suggestion

SOURCE_MEAL = (
    "American Diabetes Association, Standards of Care in Diabetes—2024, 7 (use the CGM "
    "profile to find patterns) and 9, Fig. 9.4 (prandial insulin for the meal with the "
    "largest excursion; adjust its dose or carbohydrate ratio). The rise itself is the "
    "report's pattern rule (≥ 60 mg/dL on most days, a rule of thumb, not a consensus value)."
)

# Pattern findings (reports.patterns) of a rise after one meal, by code.
MEAL_RISE_CODES = {"breakfast_rise": "breakfast", "lunch_rise": "lunch", "dinner_rise": "dinner"}


def _day(value) -> int | None:
    """A finding's date as a local day number, None for anything unreadable ('2024-02-30',
    a number, a NUL): a stored finding is read, never trusted to parse."""
    if not isinstance(value, str) or len(value) != 10:
        return None
    try:
        return parse_date(dt.date.fromisoformat(value))
    except ValueError:
        return None


def meal_rules(case: Case, lows: bool) -> list[dict]:
    out = []
    bolus = case.of_kind("insulin_bolus")
    for finding in case.patterns:
        meal = MEAL_RISE_CODES.get(finding.get("code"))
        if meal is None:
            continue
        params = finding.get("params") if isinstance(finding.get("params"), dict) else {}
        dates = params.get("dates") if isinstance(params.get("dates"), list) else []
        days = [d for d in (_day(x) for x in dates) if d is not None]
        what = (
            f"the {meal} insulin dose or its carbohydrate ratio, or the {meal} carbohydrate"
            if bolus
            else f"the {meal} carbohydrate, or mealtime cover for it (prandial insulin or a "
            "GLP-1 RA)"
        )
        summary = (
            f"{finding.get('text') or f'Rise after {meal} on most days.'} Review {what}; the "
            "plan carries no per-meal doses, so no number is proposed."
        )
        if lows:
            summary += " Time below range is over its goal: address the lows first."
        out.append(
            suggestion(
                RULE_MEAL,
                "meal_review",
                SOURCE_MEAL,
                days,
                summary,
                params={
                    "meal": meal,
                    **params,
                    "pattern_code": finding.get("code"),
                    "pattern_text": bool(finding.get("text")),
                    "bolus": bool(bolus),
                    "lows_first": bool(lows),
                },
            )
        )
    return out
