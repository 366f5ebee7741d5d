"""Plan suggestions about too much glucose-lowering effect: rule 1, hypoglycaemia first
(``hypo_rule``: which drug the lows' timing points to and its decrease — ``reduced_dose``,
``raised_carb_ratio``, a sulfonylurea halved or stopped), and rule 2, over-basalisation
(``overbasal_rule``: bedtime-to-morning fall, basal units per kg). ``lows_finding`` says
whether the lows are over their goal; the package blocks every intensifying suggestion then.
"""

from __future__ import annotations

import re
from decimal import ROUND_CEILING, ROUND_HALF_UP, Decimal

import numpy as np

from glycemia import constants as c
from glycemia import display
from glycemia.compare import DEFAULT_VERY_LOW_GOAL, below_range_goal, own_range
from glycemia.series import NS_PER_MINUTE, day_iso

from .case import Case, Series
from .common import (
    DRUG_WORDS,
    RULE_HYPO,
    RULE_OVERBASAL,
    as_number,
    dose_text,
    mg,
    plain,
    suggestion,
)

# --- Sources ------------------------------------------------------------------------------

SOURCE_HYPO = (
    "American Diabetes Association, Standards of Care in Diabetes—2024: 6 (hypoglycaemia: "
    "re-evaluate the treatment plan) and 9, Fig. 9.4 (hypoglycaemia: determine the cause; if "
    "no clear reason, lower the dose by 10–20 %). CGM goals: Battelino et al., Diabetes Care "
    "2019 (time < 70 mg/dL < 4 %, < 54 mg/dL < 1 %; older/high-risk < 70 mg/dL < 1 %)."
)
SOURCE_SULFONYLUREA = (
    SOURCE_HYPO + " Sulfonylureas: ADA 2024, 9 (hypoglycaemia risk; reduce or stop when "
    "insulin is intensified) and 13 (de-intensify hypoglycaemia-causing drugs); halving the "
    "dose is this product's step — no published table gives one."
)
SOURCE_OVERBASAL = (
    "American Diabetes Association, Standards of Care in Diabetes—2024, 9, Fig. 9.4: signals "
    "of over-basalisation — basal dose above ~0.5 U/kg/day, a bedtime-to-morning glucose "
    "differential ≥ 50 mg/dL, hypoglycaemia, high variability: re-evaluate, consider adding "
    "prandial insulin or a GLP-1 RA instead of raising the basal dose."
)

# --- Thresholds (each with its source) ----------------------------------------------------

HYPO_STEP = Decimal("0.10")  # ADA 2024 Fig. 9.4: lower the dose by 10-20 % ...
HYPO_STEP_VERY_LOW = Decimal("0.20")  # ... the upper step when time < 54 is over its goal
# Lows "after a meal": within 4 h of its start. Rapid-acting analogues act for about 4 h
# (insulin lispro / aspart prescribing information: duration of action 3-5 h).
AFTER_MEAL_MINUTES = 240
# Overnight lows point to the basal insulin: 00:00-06:00 local, the consensus "night".
NIGHT_START_MINUTE = c.NIGHT_START_HOUR * 60
NIGHT_END_MINUTE = c.NIGHT_END_HOUR * 60
# The timing "points to" a drug when its lows fall on at least 2 days (as the report's
# nocturnal-lows pattern: reports.patterns.NOCTURNAL_MIN_NIGHTS); else the drug with most.
LOW_PATTERN_MIN_DAYS = 2
# Finger-sticks give no time below range: a reading < 54 (level 2, Battelino 2019; ADA 6:
# re-evaluate the plan), or readings < 70 on 2 days or more, is the meter's finding.
METER_LOW_MIN_DAYS = 2

# Which drug the lows of each timing point to, first present in the plan wins. Overnight:
# the basal insulin (brief, ADA Fig. 9.4). After a meal: a sulfonylurea when the plan has one
# (ADA 9: stop or reduce it when insulin is intensified), else the mealtime insulin, else the
# plan's only insulin. Other daytime lows: a sulfonylurea, else the basal insulin.
TIMING_DRUGS = {
    "overnight": ("insulin_basal", "sulfonylurea"),
    "after_meal": ("sulfonylurea", "insulin_bolus", "insulin_basal"),
    "daytime": ("sulfonylurea", "insulin_basal"),
}
HYPO_DRUG_ORDER = ("insulin_basal", "sulfonylurea", "insulin_bolus")
DECREASE_KINDS = {
    "insulin_basal": "basal_decrease",
    "insulin_bolus": "bolus_decrease",
    "sulfonylurea": "sulfonylurea_decrease",
}
TIMING_WORDS = {
    "overnight": "overnight (00:00–06:00)",
    "after_meal": "within 4 h after meals",
    "daytime": "during the day, not after a meal",
}

# A dose change settles before its effect is judged (``changed_on``). Basal insulin: 3 days
# (ADA 2024 Fig. 9.4 titrates every 3 days; glargine and degludec reach steady state in 2-4
# days, prescribing information). Mealtime insulin: 3 days (ADA Fig. 9.4: adjust twice a
# week). Sulfonylurea: 7 days (glimepiride prescribing information: steps 1-2 weeks apart).
# A basal increase waits for its algorithm's own interval (basal.TITRATION_ALGORITHMS).
SETTLE_DAYS = {"insulin_basal": 3, "insulin_bolus": 3, "sulfonylurea": 7}

# Over-basalisation (ADA 2024 Fig. 9.4).
OVERBASAL_FALL_MG_DL = 50.0  # bedtime-to-morning differential >= 50 mg/dL
OVERBASAL_UNITS_PER_KG = 0.5  # basal dose above ~0.5 U/kg/day
OVERBASAL_MIN_NIGHTS = 3  # fewer nights with both values cannot show "most nights"
MOST_NIGHTS_SHARE = 0.5  # more than half, as reports.patterns' "most days"

# --- Dose steps ---------------------------------------------------------------------------


def reduced_dose(dose: float, step: Decimal | float) -> int | float:
    """`dose` lowered by the fraction `step`, the reduction rounded *up* to a whole unit (pens
    dial whole units) so it is never less than the stated percentage; at least 0.

    >>> reduced_dose(18, 0.1), reduced_dose(20, 0.2), reduced_dose(10, 0.1), reduced_dose(5, 0.1)
    (16, 16, 9, 4)
    """
    amount = Decimal(repr(float(dose)))
    cut = (amount * Decimal(str(step))).to_integral_value(rounding=ROUND_CEILING)
    return plain(max(amount - max(cut, Decimal(1)), Decimal(0)))


def raised_carb_ratio(ratio: float, step: Decimal | float) -> int | float:
    """A carbohydrate ratio (g per U) giving `step` less insulin: ratio / (1 − step), rounded
    half up to a whole gram, and at least the next whole gram above the ratio.

    >>> raised_carb_ratio(10, 0.1), raised_carb_ratio(10, 0.2), raised_carb_ratio(15, 0.1)
    (11, 13, 17)
    """
    value = Decimal(repr(float(ratio))) / (1 - Decimal(str(step)))
    new = value.to_integral_value(rounding=ROUND_HALF_UP)
    return plain(max(new, Decimal(repr(float(ratio))).to_integral_value(ROUND_CEILING) + 1))


# --- Rule 1: hypoglycaemia first ----------------------------------------------------------


def _very_low_goal(targets: dict) -> float:
    for goal in targets.get("goals") or []:
        if isinstance(goal, dict) and goal.get("key") == "very_low_percent":
            target = as_number(goal.get("target"))
            if target is not None:
                return target
    return DEFAULT_VERY_LOW_GOAL


def lows_finding(case: Case) -> dict | None:
    """Time below range or below 54 over its goal (CGM, on the shown value), or the meter's
    lows; None when neither."""
    low = as_number(case.targets.get("range_low")) or c.LOW_BELOW
    threshold = low if own_range(case.targets) else c.LOW_BELOW
    if case.mode == "cgm":
        m = case.metrics
        below = (
            m.get("below_target_percent")
            if own_range(case.targets) and m.get("below_target_percent") is not None
            else m["very_low_percent"] + m["low_percent"]
        )
        very_low = m["very_low_percent"]
        below_goal, very_low_goal = below_range_goal(case.targets), _very_low_goal(case.targets)
        over_below = display.goal_met(below, "<", below_goal) is False
        over_very_low = display.goal_met(very_low, "<", very_low_goal) is False
        if not (over_below or over_very_low):
            return None
        very_low_over = over_very_low
        text = (
            f"Time below {mg(threshold)} {display.percent(below)} "
            f"(goal {display.goal_text('<', below_goal)}), below {mg(c.VERY_LOW_BELOW)} "
            f"{display.percent(very_low)} (goal {display.goal_text('<', very_low_goal)})."
        )
        params = {
            "below_percent": below,
            "below_goal": below_goal,
            "very_low_percent": very_low,
            "very_low_goal": very_low_goal,
        }
    elif case.mode == "meter":
        s = case.meter
        low_days = np.unique(s.day[s.v < threshold]).size
        very_low_n = int(np.count_nonzero(s.v < c.VERY_LOW_BELOW))
        if not (very_low_n or low_days >= METER_LOW_MIN_DAYS):
            return None
        very_low_over = bool(very_low_n)
        text = (
            f"Finger-sticks below {mg(threshold)} on {low_days} days, "
            f"{very_low_n} below {mg(c.VERY_LOW_BELOW)}."
        )
        params = {"low_days": low_days, "very_low_readings": very_low_n}
    else:
        return None
    params["threshold_mg_dl"] = threshold
    return {"very_low": very_low_over, "threshold": threshold, "text": text, "params": params}


def _timing(case: Case, s: Series) -> np.ndarray:
    """'overnight' (00:00-06:00 local), 'after_meal' (within 4 h of a meal start, or a
    finger-stick tagged after a meal) or 'daytime', per reading."""
    minute = s.minute
    overnight = (minute >= NIGHT_START_MINUTE) & (minute < NIGHT_END_MINUTE)
    after = np.zeros(s.size, bool)
    if case.meals.size and s.size:
        idx = np.searchsorted(case.meals, s.local, side="right") - 1
        ok = idx >= 0
        since = np.full(s.size, np.iinfo("int64").max)
        since[ok] = s.local[ok] - case.meals[idx[ok]]
        after = since <= AFTER_MEAL_MINUTES * NS_PER_MINUTE
    if s.tags is not None:
        after |= s.tags == "after_meal"
    return np.where(overnight, "overnight", np.where(after, "after_meal", "daytime"))


def hypo_rule(case: Case, finding: dict) -> list[dict]:
    step = HYPO_STEP_VERY_LOW if finding["very_low"] else HYPO_STEP
    present = case.kinds() & set(HYPO_DRUG_ORDER)
    if not present:
        case.note(RULE_HYPO, "lows over goal, but the plan has no insulin or sulfonylurea to lower")
        return []
    if case.mode == "cgm" and not case.sufficient:
        case.note(
            RULE_HYPO,
            f"lows over goal, but CGM wear is {display.percent(case.metrics['active_percent'])} "
            f"(< {c.SUFFICIENT_ACTIVE_PERCENT:g} %): too little data to size a decrease",
        )
        return []
    s = case.readings
    low = s.v < finding["threshold"]
    timing = _timing(case, s)
    drug = np.full(s.size, "", dtype=object)
    for name, order in TIMING_DRUGS.items():
        chosen = next((k for k in order if k in present), "")
        drug[timing == name] = chosen
    attributed: dict[str, np.ndarray] = {}
    for kind in HYPO_DRUG_ORDER:
        mask = low & (drug == kind)
        current = mask & (s.day >= case.since_change(kind))
        if current.any():
            attributed[kind] = current
        elif mask.any():
            case.note(
                RULE_HYPO,
                f"the lows pointing to the {DRUG_WORDS[kind]} came before it changed on "
                f"{day_iso(case.changed[kind])}: none on the current dose",
            )
    if not attributed:
        if not low.any():
            case.note(RULE_HYPO, "time below 54 over goal, but no reading below range to time")
        elif not (low & (drug != "")).any():
            case.note(
                RULE_HYPO, "the lows' timing points to no insulin or sulfonylurea in the plan"
            )
        return []
    days = {k: np.unique(s.day[m]) for k, m in attributed.items()}
    implicated = [k for k in HYPO_DRUG_ORDER if k in days and days[k].size >= LOW_PATTERN_MIN_DAYS]
    if not implicated:
        most = max(int(m.sum()) for m in attributed.values())
        implicated = [
            next(k for k in HYPO_DRUG_ORDER if k in attributed and attributed[k].sum() == most)
        ]
    out = []
    for kind in implicated:
        reason = case.settling(kind, SETTLE_DAYS[kind])
        if reason:
            case.note(RULE_HYPO, f"lows point to the {DRUG_WORDS[kind]}, but {reason}")
            continue
        where = sorted({str(x) for x in timing[attributed[kind]]}, key=list(TIMING_WORDS).index)
        lows_text = (
            f"Lows {' and '.join(TIMING_WORDS[w] for w in where)} on {days[kind].size} "
            f"day{'s' if days[kind].size != 1 else ''} point to the {DRUG_WORDS[kind]}."
        )
        made = _decrease(case, kind, step, finding)
        if made is None:
            case.note(RULE_HYPO, f"lows point to the {DRUG_WORDS[kind]}, but no dose is recorded")
            continue
        change, action, source, actions = made
        params = {
            **finding["params"],
            "step_percent": float(step * 100),
            "timing": where,
            "lows_days": int(days[kind].size),
            "actions": actions,
        }
        out.append(
            suggestion(
                RULE_HYPO,
                DECREASE_KINDS[kind],
                source,
                days[kind],
                f"{finding['text']} {lows_text} {action}",
                change,
                params=params,
            )
        )
    return out


def _decrease(case: Case, kind: str, step: Decimal, finding: dict):
    """(proposed change, words, source) for lowering every medication of `kind`, or None."""
    change: dict = {}
    words = []
    actions = []  # the words' numbers, for pages that re-word them (params)
    percent = f"{int(step * 100)} %"
    for i, med in case.of_kind(kind):
        dose, unit = as_number(med.get("dose")), med.get("dose_unit") or ""
        name = med.get("product") or DRUG_WORDS[kind]
        if dose is None or dose <= 0:
            continue
        if kind == "sulfonylurea":
            if finding["very_low"]:
                change[f"medications.{i}"] = {"from": dict(med), "to": None}
                words.append(f"Stop {name} ({dose_text(dose, unit)}): time below 54 is over goal.")
                actions.append(_action("stop", med, plain(dose), None, unit))
            else:
                half = plain(Decimal(repr(dose)) / 2)
                change[f"medications.{i}.dose"] = {"from": plain(dose), "to": half}
                words.append(f"Halve {name}: {dose_text(dose, unit)} → {dose_text(half, unit)}.")
                actions.append(_action("halve", med, plain(dose), half, unit))
            continue
        new = reduced_dose(dose, step)
        change[f"medications.{i}.dose"] = {"from": plain(dose), "to": new}
        text = f"Lower {name} by {percent}: {dose_text(dose, unit)} → {dose_text(new, unit)}"
        action = _action("lower", med, plain(dose), new, unit)
        ratio = as_number(med.get("carb_ratio_g_per_u"))
        if kind == "insulin_bolus" and ratio and ratio > 0:
            raised = raised_carb_ratio(ratio, step)
            change[f"medications.{i}.carb_ratio_g_per_u"] = {"from": plain(ratio), "to": raised}
            text += f"; carbohydrate ratio {ratio:g} → {raised:g} g/U"
            action.update(ratio_from=plain(ratio), ratio_to=raised)
        words.append(text + ".")
        actions.append(action)
    if not change:
        return None
    source = SOURCE_SULFONYLUREA if kind == "sulfonylurea" else SOURCE_HYPO
    return change, " ".join(words), source, actions


def _action(verb: str, med: dict, dose, new, unit: str) -> dict:
    """One dose step as params: the product (None: the drug kind names it), from, to."""
    product = med.get("product")
    return {
        "verb": verb,
        "product": product if isinstance(product, str) and product else None,
        "from": dose,
        "to": new,
        "unit": unit,
    }


# --- Rule 2: over-basalisation ------------------------------------------------------------


def _per_day(frequency) -> int:
    """Doses a day from a plan's free-text frequency: twice daily / BID / every 12 h -> 2."""
    text = frequency.lower() if isinstance(frequency, str) else ""
    if re.search(r"twice|\bbid\b|\bb\.i\.d|every 12|q12|2\s*x|2 times|每日两次|一日两次", text):
        return 2
    return 1


def overbasal_rule(case: Case) -> dict | None:
    basal = [(i, m) for i, m in case.of_kind("insulin_basal") if as_number(m.get("dose"))]
    if not basal:
        case.note(RULE_OVERBASAL, "no basal insulin with a dose in the plan")
        return None
    signals, days, params = [], [], {}
    total = sum(as_number(m.get("dose")) * _per_day(m.get("frequency")) for _, m in basal)
    if case.weight_kg:
        per_kg = total / case.weight_kg
        params.update(units_per_kg=per_kg, basal_units_per_day=total, weight_kg=case.weight_kg)
        if per_kg > OVERBASAL_UNITS_PER_KG:
            signals.append(
                f"basal insulin {total:g} U/day is {per_kg:.2f} U/kg "
                f"(above {OVERBASAL_UNITS_PER_KG:g} U/kg at {case.weight_kg:g} kg)"
            )
    nights = _bedtime_falls(case)
    if nights is not None:
        falls = {d: f for d, f in nights.items() if f >= OVERBASAL_FALL_MG_DL}
        params.update(nights=len(nights), nights_with_fall=len(falls))
        if len(falls) > MOST_NIGHTS_SHARE * len(nights):
            median = float(np.median(list(falls.values())))
            params["median_fall_mg_dl"] = median
            days = list(falls)
            signals.append(
                f"glucose fell ≥ {mg(OVERBASAL_FALL_MG_DL)} from bedtime to waking on "
                f"{len(falls)} of {len(nights)} nights (median fall {mg(median)})"
            )
    if not signals:
        return None
    summary = (
        f"Possible over-basalisation: {'; '.join(signals)}. Review the basal dose and whether "
        "mealtime cover (prandial insulin or a GLP-1 RA) is needed, rather than raising it."
    )
    return suggestion(
        RULE_OVERBASAL, "basal_review", SOURCE_OVERBASAL, days, summary, params=params
    )


def _bedtime_falls(case: Case) -> dict[int, float] | None:
    """{waking day: bedtime value − fasting value} for nights on the current basal dose with
    both values, or None (with a note) when too few nights or too little CGM wear."""
    if case.mode == "cgm" and not case.sufficient:
        case.note(RULE_OVERBASAL, "CGM wear under 70 %: the bedtime-to-morning fall is not judged")
        return None
    if case.mode is None:
        return None
    s = case.readings
    fasting, bed = case.clock_values(s, "fasting"), case.clock_values(s, "bedtime")
    # A bedtime later in the clock than waking is the evening before the waking day.
    lag = 1 if case.bedtime > case.wake else 0
    first = case.since_change("insulin_basal")
    nights = {d + lag: bed[d] - fasting[d + lag] for d in bed if d + lag in fasting and d >= first}
    if len(nights) < OVERBASAL_MIN_NIGHTS:
        case.note(
            RULE_OVERBASAL,
            f"{len(nights)} nights with both a bedtime and a waking value "
            f"(at least {OVERBASAL_MIN_NIGHTS} needed)",
        )
        return None
    return nights
