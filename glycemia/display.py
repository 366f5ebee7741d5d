"""How clinical numbers are shown: ONE rounding rule for every page, PDF, CSV and comparison.

Rules (pure Python, no Django; the template filters, the PDF, exports and comparisons call
these functions, never ``floatformat`` or f-strings of their own):

- **Round half away from zero** ("4.15 %" -> "4.2 %"), never truncate: truncating understates
  hypoglycaemia (4.19 % below range shown as "4.1 %"). Rounding goes through ``Decimal`` of
  the number's shortest repr, so 4.15 rounds up although the binary float is 4.1499999...
- **Precision**: percentages (time in ranges, CV, CGM active, adherence) 1 decimal, and so
  changes in them (``signed``); GMI 1 decimal; glucose in mg/dL whole numbers, in mmol/L
  1 decimal (the unit always named); GRI 1 decimal; LBGI / HBGI 2 decimals; finger-sticks a
  day 1 decimal. 99.95 % shows as "100.0 %": the rule has no exceptions, so a reader can
  redo any number on the page.
- **Round once**: numbers are stored and served by numeric API fields at full precision and
  rounded only here; a value rounded before (Python's ``round`` rounds half to even, and on
  the binary float) and again on the page can differ from the same value rounded once.
- **Goals are decided on the shown value**: "4.0 %, goal < 4 %" is *not met*, and a value
  that rounds to 3.9 % *is* met, so a reader can check every verdict from the page
  (``goal_met``).
- **Typed values**: a value typed into a field that showed a stored value keeps the stored value
  when it shows the same (``glucose_entered``): 140 mg/dL is shown "7.8" mmol/L and 7.8 mmol/L
  converts to 141, so an unchanged "7.8" must stay 140, never become 141.
- **Local time**: an instant shown to a person is the patient's local wall-clock time, and the
  zone is named next to it (``local_time``, ``zone_label``); APIs keep ISO 8601 with offset.

>>> percent(4.15), glucose(123.5, "mg/dL"), glucose(180, "mmol/L"), gmi(6.249)
('4.2 %', '124 mg/dL', '10.0 mmol/L', '6.2 %')
>>> goal_met(3.96, "<", 4), goal_met(3.94, "<", 4)
(False, True)
"""

from __future__ import annotations

import datetime as dt
import operator
import zoneinfo
from decimal import ROUND_HALF_UP, Decimal

import numpy as np

from glycemia.units import MG_DL_PER_MMOL_L, MMOL_L, to_mg_dl

DASH = "—"
PERCENT_DECIMALS = 1
GMI_DECIMALS = 1
GRI_DECIMALS = 1
INDEX_DECIMALS = 2  # LBGI, HBGI
PER_DAY_DECIMALS = 1  # finger-sticks a day
MG_DL_DECIMALS = 0
MMOL_L_DECIMALS = 1
EGFR_DECIMALS = 0  # mL/min/1.73 m²
ACR_DECIMALS = 1  # urine albumin/creatinine, mg/mmol and mg/g
TIME_FORMAT = "%Y-%m-%d %H:%M"

_COMPARE = {">": operator.gt, ">=": operator.ge, "<": operator.lt, "<=": operator.le}
# Shown comparison signs: "≤"/"≥" read better than "<="/">=" on a page and in a PDF.
COMPARISON_SIGNS = {">": ">", ">=": "≥", "<": "<", "<=": "≤"}


def rounded(value, decimals: int) -> float | None:
    """`value` rounded half away from zero to `decimals` places (None stays None).

    >>> rounded(4.15, 1), rounded(-0.05, 1), rounded(123.5, 0), rounded(None, 1)
    (4.2, -0.1, 124.0, None)
    """
    if value is None:
        return None
    quantum = Decimal(1).scaleb(-decimals)
    return float(Decimal(repr(float(value))).quantize(quantum, rounding=ROUND_HALF_UP))


# A value this close to a half (in units of the last kept place) is rounded by `rounded`: far
# from a half, numpy's rounding picks the same neighbour, whatever its float error.
_NEAR_HALF = 1e-6


def rounded_many(values, decimals: int) -> list[float]:
    """`rounded` of each of many floats (no None), vectorised: the 2 x 5,000 points of the
    population view's GRI figure in ~0.6 ms instead of ~23 ms (#23).

    numpy's round (multiply, round to the nearest integer, divide) picks the same whole number
    of the last place as rounding the shortest repr half away from zero unless the value lies
    within a hair of a half, and its division gives the float nearest that decimal, as
    converting the rounded ``Decimal`` does: those near a half (and any beyond 2**52 in units
    of the last place, or not finite) go through `rounded` itself.

    >>> rounded_many([4.15, -0.05, 2.449, 123.5], 1)
    [4.2, -0.1, 2.4, 123.5]
    """
    x = np.asarray(values, dtype="float64")
    scaled = np.abs(x * 10.0**decimals)
    out = np.round(x, decimals).tolist()
    with np.errstate(invalid="ignore"):
        near = ~(np.abs(scaled % 1.0 - 0.5) >= _NEAR_HALF) | ~(scaled < 2.0**52)
    for i in np.flatnonzero(near).tolist():
        out[i] = rounded(float(x[i]), decimals)
    return out


def _number(value: float | None, decimals: int) -> str:
    if value is None:
        return DASH
    return f"{rounded(value, decimals):.{decimals}f}"


def percent_value(value) -> float | None:
    """A percentage as shown (1 decimal)."""
    return rounded(value, PERCENT_DECIMALS)


def percent(value, *, sign: bool = True) -> str:
    """'4.2 %' (or '4.2' with ``sign=False``); '—' for a missing value."""
    text = _number(value, PERCENT_DECIMALS)
    return f"{text} %" if sign and value is not None else text


def gmi(value) -> str:
    return DASH if value is None else f"{_number(value, GMI_DECIMALS)} %"


def cv(value) -> str:
    return percent(value)


def gri(value) -> str:
    return _number(value, GRI_DECIMALS)


def signed(value, decimals: int = PERCENT_DECIMALS) -> str:
    """A change, with its sign: '+4.2', '−0.1', '±0.0' (the sign of the shown number).

    >>> signed(4.15), signed(-0.05), signed(-0.04), signed(None)
    ('+4.2', '−0.1', '±0.0', '—')
    """
    if value is None:
        return DASH
    shown = rounded(value, decimals)
    sign = "+" if shown > 0 else "−" if shown < 0 else "±"
    return f"{sign}{abs(shown):.{decimals}f}"


def per_day(value) -> str:
    """Finger-sticks (or any count) a day: '3.6'."""
    return _number(value, PER_DAY_DECIMALS)


def index(value) -> str:
    """LBGI / HBGI."""
    return _number(value, INDEX_DECIMALS)


def egfr(value) -> str:
    """eGFR with its unit: '87 mL/min/1.73 m²'; '—' when missing."""
    return DASH if value is None else f"{_number(value, EGFR_DECIMALS)} mL/min/1.73 m²"


def acr(mg_mmol, mg_g) -> str:
    """A urine albumin/creatinine ratio in both units, mg/mmol first: '3.4 mg/mmol (30.0 mg/g)'.

    >>> acr(3.39, 30), acr(None, None)
    ('3.4 mg/mmol (30.0 mg/g)', '—')
    """
    if mg_g is None:
        return DASH
    return f"{_number(mg_mmol, ACR_DECIMALS)} mg/mmol ({_number(mg_g, ACR_DECIMALS)} mg/g)"


def glucose_decimals(unit: str) -> int:
    return MMOL_L_DECIMALS if unit == MMOL_L else MG_DL_DECIMALS


def glucose_value(mg_dl, unit: str) -> float | None:
    """A glucose value (stored in mg/dL) as shown in `unit`: 123.5 -> 124 mg/dL, 180 -> 10.0."""
    if mg_dl is None:
        return None
    value = float(mg_dl) / MG_DL_PER_MMOL_L if unit == MMOL_L else float(mg_dl)
    return rounded(value, glucose_decimals(unit))


def glucose_field(mg_dl, unit: str) -> int | float | None:
    """A glucose value (mg/dL) as an editor field shows it: ``glucose_value``, whole mg/dL as
    an int so the field reads "140", not "140.0".

    >>> glucose_field(140, "mmol/L"), glucose_field(140, "mg/dL"), glucose_field(100.5, "mg/dL")
    (7.8, 140, 101)
    """
    value = glucose_value(mg_dl, unit)
    if value is None or unit == MMOL_L:
        return value
    return int(value)


def glucose_entered(typed, unit: str, *shown_mg_dl):
    """The mg/dL to store for a glucose value typed in ``unit`` into a field that showed
    ``shown_mg_dl`` (the stored value; then, say, the chosen preset's).

    A typed value that rounds to how one of them is shown (``glucose_value``) *is* that value,
    exactly; any other value is converted (``glycemia.units.to_mg_dl``: whole mg/dL from
    mmol/L, mg/dL as typed). So a field the person did not change is never rewritten, in
    either unit, and a change always shows as a change (one decimal of mmol/L is 1.8 mg/dL;
    the whole-mg/dL rounding moves a value by at most 0.03 mmol/L, less than half a step).

    >>> glucose_entered(7.8, "mmol/L", 140), glucose_entered(7.8, "mmol/L")
    (140, 141)
    >>> glucose_entered(7.9, "mmol/L", 140), glucose_entered(101, "mg/dL", 100.5)
    (142, 100.5)
    """
    if typed is None:
        return None
    typed_shown = rounded(typed, glucose_decimals(unit))
    for candidate in shown_mg_dl:
        if candidate is not None and glucose_value(candidate, unit) == typed_shown:
            return candidate
    return to_mg_dl(typed, unit)


def percent_entered(typed, *shown):
    """A percentage typed into a field that showed ``shown`` (1 decimal): the shown value,
    exactly, when the typed one rounds to it; else the typed value.

    >>> percent_entered(4.3, 4.25), percent_entered(4.0, 4.25)
    (4.25, 4.0)
    """
    if typed is None:
        return None
    for candidate in shown:
        if candidate is not None and percent_value(candidate) == percent_value(typed):
            return candidate
    return typed


def glucose(mg_dl, unit: str, *, with_unit: bool = True) -> str:
    """'124 mg/dL', '6.9 mmol/L' (``with_unit=False``: the number alone); '—' if missing."""
    if mg_dl is None:
        return DASH
    text = f"{glucose_value(mg_dl, unit):.{glucose_decimals(unit)}f}"
    return f"{text} {unit}" if with_unit else text


def glucose_range(low_mg_dl, high_mg_dl, unit: str) -> str:
    """'3.5–7.8 mmol/L', '63–140 mg/dL': the unit once, after the range."""
    return f"{glucose(low_mg_dl, unit, with_unit=False)}–{glucose(high_mg_dl, unit)}"


def factor(mg_dl_per_unit, unit: str) -> str:
    """An insulin correction factor in the viewer's unit: '50 mg/dL/U', '2.8 mmol/L/U'."""
    if mg_dl_per_unit is None:
        return DASH
    return f"{glucose(mg_dl_per_unit, unit)}/U"


def goal_met(value, comparison: str, target) -> bool | None:
    """Whether a % goal is met, judged on the value *as shown* (1 decimal).

    >>> goal_met(70.04, ">", 70), goal_met(70.05, ">", 70), goal_met(None, ">", 70)
    (False, True, None)
    """
    shown = percent_value(value)
    if shown is None or target is None:
        return None
    return bool(_COMPARE[comparison](shown, float(target)))


def goal_text(comparison: str, target) -> str:
    """'< 4 %', '> 70 %', '≤ 36 %' (the target without needless decimals)."""
    number = float(target)
    shown = f"{number:g}" if number == rounded(number, 1) else f"{number:.1f}"
    return f"{COMPARISON_SIGNS.get(comparison, comparison)} {shown} %"


def zone_label(tz: str, when: dt.datetime | None = None) -> str:
    """The zone as a reader recognises it: 'Asia/Shanghai, UTC+08:00'."""
    when = when or dt.datetime.now(dt.UTC)
    offset = when.astimezone(zoneinfo.ZoneInfo(tz)).strftime("%z")
    return f"{tz}, UTC{offset[:3]}:{offset[3:]}"


def local_datetime(instant, tz: str) -> dt.datetime:
    """An ISO 8601 string or aware datetime -> aware datetime in the patient's zone."""
    if isinstance(instant, str):
        instant = dt.datetime.fromisoformat(instant.replace("Z", "+00:00"))
    if instant.tzinfo is None:
        instant = instant.replace(tzinfo=dt.UTC)
    return instant.astimezone(zoneinfo.ZoneInfo(tz))


def local_time(instant, tz: str) -> str:
    """'2026-03-05 02:10': the patient's wall-clock time (name the zone beside it).

    >>> local_time("2026-03-04T18:10:00+00:00", "Asia/Shanghai")
    '2026-03-05 02:10'
    """
    return local_datetime(instant, tz).strftime(TIME_FORMAT)
