"""What every rule of the plan suggestions shares: the rule names and suggestion kinds, the
words for the drugs, the shape of one suggestion, and the small readers and writers of plan
fields (numbers and clock times as a form or an API client may have sent them) and of
evidence text (mg/dL, doses).
"""

from __future__ import annotations

import datetime as dt
import math
import re
from decimal import Decimal

from glycemia import display
from glycemia.series import day_iso

# --- Rule names and kinds -----------------------------------------------------------------

RULE_HYPO = "hypoglycaemia_first"
RULE_OVERBASAL = "over_basalisation"
RULE_TITRATION = "basal_titration"
RULE_MEAL = "post_meal_rise"
RULE_PREGNANCY = "not_for_pregnancy"
RULE_TARGETS_MET = "targets_met"

KINDS = (
    "basal_decrease",
    "bolus_decrease",
    "sulfonylurea_decrease",
    "basal_increase",
    "basal_review",
    "meal_review",
    "no_change",
    "not_for_pregnancy",
)
# Suggestions that add glucose-lowering effect: never proposed (proposed_change None, the
# blocking rules named) while a hypoglycaemia finding stands.
INTENSIFYING_KINDS = frozenset({"basal_increase"})

BLOCKER_WORDS = {
    RULE_HYPO: "time below range is over its goal",
    RULE_OVERBASAL: "over-basalisation is possible",
}

DRUG_WORDS = {
    "insulin_basal": "basal insulin",
    "insulin_bolus": "mealtime insulin",
    "sulfonylurea": "sulfonylurea",
}

UNIT = "mg/dL"  # evidence text is in mg/dL; pages re-word it from params in the reader's unit

# --- Small helpers ------------------------------------------------------------------------


def as_number(value) -> float | None:
    """A finite real number (not bool) or a numeric string, else None: plan content may be
    anything a form or an API client sent."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, str):
        try:
            value = float(value.strip().replace(",", "."))
        except ValueError:
            return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def plain(number: float | Decimal) -> int | float:
    """A whole number as an int (16.0 -> 16), any other as a float (16.5)."""
    number = float(number)
    return int(number) if number.is_integer() else number


def parse_clock(value) -> int | None:
    """'07:00', '7:30', '07:00:00' or a time -> minutes after midnight; None if not a time."""
    if isinstance(value, dt.time):
        return value.hour * 60 + value.minute
    match = re.fullmatch(
        r"\s*(\d{1,2}):(\d{2})(?::\d{2})?\s*", value if isinstance(value, str) else ""
    )
    if match and int(match[1]) < 24 and int(match[2]) < 60:
        return int(match[1]) * 60 + int(match[2])
    return None


def clock_minutes(value, default: str) -> int:
    """A plan's clock field in minutes after midnight; `default` when missing or garbage.

    >>> clock_minutes("6:45", "07:00"), clock_minutes("25:00", "07:00")
    (405, 420)
    """
    minutes = parse_clock(value)
    return parse_clock(default) if minutes is None else minutes


def mg(value: float) -> str:
    return display.glucose(value, UNIT)


def measured(value: float) -> str:
    """A single measured glucose, unrounded (71.9 must not read "72" where < 72 decides)."""
    return f"{float(value):g} {UNIT}"


def dose_text(value, unit: str) -> str:
    return f"{plain(value):g} {unit}".strip()


# --- One suggestion -----------------------------------------------------------------------


def suggestion(rule, kind, source, days, summary, change=None, blocked_by=(), params=None) -> dict:
    """One suggestion in the shape the package returns (its docstring says the fields); `days`
    are local day numbers, listed once each, in order, as ISO dates."""
    return {
        "rule": rule,
        "kind": kind,
        "source": source,
        "evidence": {
            "days": [day_iso(d) for d in sorted({int(d) for d in days})],
            "summary": summary,
            "params": params or {},
        },
        "proposed_change": change,
        "blocked_by": list(blocked_by),
    }
