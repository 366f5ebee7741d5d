"""Compare two periods' metrics with clinical direction ("better" / "worse" / "same").

Direction per key:
- higher is better: in_range_percent, tight_range_percent, active_percent.
- lower is better: very_low_percent, low_percent, high_percent, very_high_percent, cv_percent,
  sd_mg_dl, gri, lbgi, hbgi, mage.
- mean_mg_dl and gmi_percent: closer to the goal is better; the goal is a mean of ~154 mg/dL
  (GMI 7 %, Bergenstal 2018), so a move from 190 to 160 is better and from 150 to 110 is worse.
"same" when the change is within the key's display precision (e.g. 0.05 percentage points).
"""

from __future__ import annotations

from glycemia import constants as c

HIGHER_IS_BETTER = ("in_range_percent", "tight_range_percent", "active_percent")
LOWER_IS_BETTER = (
    "very_low_percent",
    "low_percent",
    "high_percent",
    "very_high_percent",
    "cv_percent",
    "sd_mg_dl",
    "gri",
    "lbgi",
    "hbgi",
    "mage",
)
CLOSER_TO_GOAL = {"mean_mg_dl": c.MEAN_GOAL_MG_DL, "gmi_percent": 7.0}  # Bergenstal 2018
COMPARED_KEYS = (
    "in_range_percent",
    "tight_range_percent",
    "very_low_percent",
    "low_percent",
    "high_percent",
    "very_high_percent",
    "mean_mg_dl",
    "gmi_percent",
    "sd_mg_dl",
    "cv_percent",
    "gri",
    "lbgi",
    "hbgi",
    "mage",
    "active_percent",
)
SAME_WITHIN = {"mean_mg_dl": 0.5, "sd_mg_dl": 0.5, "mage": 0.5, "gmi_percent": 0.005}
DEFAULT_SAME_WITHIN = 0.05


def _direction(key: str, current: float, previous: float) -> str:
    if abs(current - previous) < SAME_WITHIN.get(key, DEFAULT_SAME_WITHIN):
        return "same"
    if key in CLOSER_TO_GOAL:
        goal = CLOSER_TO_GOAL[key]
        now, before = abs(current - goal), abs(previous - goal)
        if abs(now - before) < SAME_WITHIN.get(key, DEFAULT_SAME_WITHIN):
            return "same"
        return "better" if now < before else "worse"
    up = current > previous
    if key in HIGHER_IS_BETTER:
        return "better" if up else "worse"
    return "worse" if up else "better"


def compare_periods(current: dict, previous: dict) -> list[dict]:
    """Per key present in both: {"key", "current", "previous", "delta", "direction"}.

    >>> compare_periods({"in_range_percent": 72.0}, {"in_range_percent": 65.5})[0]["direction"]
    'better'
    """
    rows = []
    for key in COMPARED_KEYS:
        if key not in current and key not in previous:
            continue
        now, before = current.get(key), previous.get(key)
        if now is None or before is None:
            rows.append(
                {"key": key, "current": now, "previous": before, "delta": None, "direction": None}
            )
            continue
        rows.append(
            {
                "key": key,
                "current": now,
                "previous": before,
                "delta": round(float(now) - float(before), 2),
                "direction": _direction(key, float(now), float(before)),
            }
        )
    return rows
