"""Unit conversion between mg/dL (storage) and mmol/L (display and some devices).

One factor for the whole product (DESIGN §3): 1 mmol/L = 18.01559 mg/dL, the factor Nightscout
and Tidepool use. Converting mmol/L to mg/dL rounds to whole mg/dL, so mmol/L values land in the
same consensus band as their mmol/L reading: 10.0 mmol/L -> 180 (in range; naive 180.16 would
be "high"), 3.9 -> 70, 3.0 -> 54, 13.9 -> 250, 14.0 -> 252, 2.9 -> 52.

    >>> to_mg_dl(10.0, "mmol/L"), from_mg_dl(180, "mmol/L")
    (180, 10.0)
"""

from __future__ import annotations

import numpy as np

MG_DL_PER_MMOL_L = 18.01559  # Nightscout / Tidepool conversion factor

MG_DL = "mg/dL"
MMOL_L = "mmol/L"


def _normalize_unit(unit: str) -> str:
    key = unit.strip().lower().replace(" ", "")
    if key in ("mg/dl", "mgdl", "mg"):
        return MG_DL
    if key in ("mmol/l", "mmol", "mmoll"):
        return MMOL_L
    raise ValueError(f"unknown glucose unit: {unit!r}")


def to_mg_dl(value, unit: str):
    """Value(s) in `unit` -> mg/dL. mmol/L is rounded to whole mg/dL (see module docstring).

    Works on a number (returns int for mmol/L, the value for mg/dL) or a numpy array.
    """
    unit = _normalize_unit(unit)
    if unit == MG_DL:
        return value
    if isinstance(value, np.ndarray):
        return np.rint(value * MG_DL_PER_MMOL_L)
    return int(round(float(value) * MG_DL_PER_MMOL_L))


def from_mg_dl(value, unit: str):
    """mg/dL -> `unit` for display: mmol/L with one decimal (180 -> 10.0, 70 -> 3.9)."""
    unit = _normalize_unit(unit)
    if unit == MG_DL:
        return value
    if isinstance(value, np.ndarray):
        return np.round(value / MG_DL_PER_MMOL_L, 1)
    return round(float(value) / MG_DL_PER_MMOL_L, 1)


def band_thresholds(unit: str) -> dict[str, float]:
    """The band limits as shown in `unit` (mmol/L: 3.0 / 3.9 / 10.0 / 13.9)."""
    from glycemia.constants import HIGH_ABOVE, LOW_BELOW, VERY_HIGH_ABOVE, VERY_LOW_BELOW

    limits = {
        "very_low_below": VERY_LOW_BELOW,
        "low_below": LOW_BELOW,
        "high_above": HIGH_ABOVE,
        "very_high_above": VERY_HIGH_ABOVE,
    }
    if _normalize_unit(unit) == MG_DL:
        return {k: int(v) for k, v in limits.items()}
    return {k: from_mg_dl(v, MMOL_L) for k, v in limits.items()}
