"""The patient's case for the plan suggestions: the report window's readings (CGM, else
finger-sticks) with their local time, the plan's targets and medications as far as they are
well formed, the meal starts, each day's fasting and bedtime value, whether the CGM data are
sufficient, how long a dose change settles, and the notes of why a rule proposed nothing.
Every rule reads the patient through a ``Case``; ``build_case`` makes one.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from glycemia import constants as c
from glycemia.compare import own_range
from glycemia.metrics import cgm_metrics
from glycemia.series import (
    NS_PER_DAY,
    NS_PER_MINUTE,
    as_ns,
    clean_series,
    day_iso,
    local_ns,
    parse_date,
)
from glycemia.targets import PRESETS, range_percents, sufficiency

from .common import DRUG_WORDS, as_number, clock_minutes, parse_clock, plain

# Fasting glucose from CGM: the median of the readings in the hour before the plan's wake
# time (plan field ``wake_time``), on days with at least 3 readings in that hour (a
# 15-minute sensor gives 4).
DEFAULT_WAKE_TIME = "07:00"
DEFAULT_BEDTIME = "22:00"
DEFAULT_MEAL_TIMES = ("07:00", "12:00", "18:00")  # used only when no meal is recorded
HOUR_BEFORE_MINUTES = 60
MIN_READINGS_IN_HOUR = 3

# --- Readings in the window ---------------------------------------------------------------


@dataclass
class Series:
    """Readings of one kind inside the report's window, with their local time."""

    t: np.ndarray  # UTC epoch ns
    v: np.ndarray  # mg/dL
    local: np.ndarray  # local wall-clock epoch ns
    tags: np.ndarray | None = None  # finger-stick meal tags

    @property
    def day(self) -> np.ndarray:
        return self.local // NS_PER_DAY

    @property
    def minute(self) -> np.ndarray:
        return (self.local % NS_PER_DAY) // NS_PER_MINUTE

    def where(self, mask: np.ndarray) -> Series:
        tags = None if self.tags is None else self.tags[mask]
        return Series(self.t[mask], self.v[mask], self.local[mask], tags)

    @property
    def size(self) -> int:
        return int(self.v.size)


def cgm_series(times, values, tz: str) -> Series:
    if times is None or values is None:
        return Series(np.empty(0, "int64"), np.empty(0), np.empty(0, "int64"))
    t, v = clean_series(times, values)
    return Series(t, v, local_ns(t, tz))


def meter_series(times, values, tags, tz: str) -> Series:
    if times is None or values is None:
        return Series(np.empty(0, "int64"), np.empty(0), np.empty(0, "int64"), np.empty(0, object))
    t = as_ns(times)
    v = np.asarray(values, dtype="float64")
    if t.shape != v.shape:
        raise ValueError("meter times and values must have the same length")
    raw = list(tags) if tags is not None else [""] * v.size
    if len(raw) != v.size:
        raise ValueError("meter tags and values must have the same length")
    tag_array = np.array([x if isinstance(x, str) else "" for x in raw], dtype=object)
    ok = ~np.isnan(v)
    t, v, tag_array = t[ok], v[ok], tag_array[ok]
    order = np.argsort(t, kind="stable")
    t, v, tag_array = t[order], v[order], tag_array[order]
    return Series(t, v, local_ns(t, tz), tag_array)


def _hour_before(local: np.ndarray, clock_minute: int) -> tuple[np.ndarray, np.ndarray]:
    """For each local time: whether it lies in the hour before `clock_minute` and the local
    day that hour ends on (a wake time of 00:30 takes 23:30-00:30 for the new day)."""
    shifted = local - clock_minute * NS_PER_MINUTE  # the clock time falls on midnight
    inside = (shifted % NS_PER_DAY) >= (1440 - HOUR_BEFORE_MINUTES) * NS_PER_MINUTE
    return inside, shifted // NS_PER_DAY + 1


def _daily_medians(day: np.ndarray, v: np.ndarray, min_readings: int) -> dict[int, float]:
    out: dict[int, float] = {}
    for d in np.unique(day).tolist():
        x = v[day == d]
        if x.size >= min_readings:
            out[int(d)] = float(np.median(x))
    return out


def cgm_hour_values(s: Series, clock_minute: int) -> dict[int, float]:
    inside, day = _hour_before(s.local, clock_minute)
    return _daily_medians(day[inside], s.v[inside], MIN_READINGS_IN_HOUR)


def meter_tag_values(s: Series, tag: str) -> dict[int, float]:
    mask = s.tags == tag if s.tags is not None else np.zeros(s.size, bool)
    return _daily_medians(s.day[mask], s.v[mask], 1)


def window_metrics(s: Series, tz: str, first: int, last: int) -> dict:
    """Exact CGM metrics of the readings `s` over the whole local days `first`..`last`."""
    return cgm_metrics(
        s.t, s.v, tz=tz, start=day_iso(first), end=day_iso(last), full=False, exact=True
    )


def without_mage_and_agp(metrics: dict) -> dict:
    """``cgm_metrics(..., exact=True)`` as ``full=False`` gives it: the same dict with MAGE
    and the AGP left out (None); every other value is computed the same way either way."""
    return {**metrics, "mage": None, "mage_plus": None, "mage_minus": None, "agp": None}


# --- The patient's case -------------------------------------------------------------------


@dataclass
class Case:
    content: dict
    targets: dict
    meds: list[tuple[int, dict]]  # (index in the plan's list, medication)
    tz: str
    first: int  # local day numbers of the window, inclusive
    last: int
    cgm: Series
    meter: Series
    meals: np.ndarray  # local ns of meal starts
    wake: int
    bedtime: int
    diabetes_type: str | None
    weight_kg: float | None
    changed: dict[str, int]
    patterns: list
    metrics: dict | None = None  # CGM metrics of the window (exact)
    sufficient: bool = False
    notes: list[dict] = field(default_factory=list)

    @property
    def mode(self) -> str | None:
        """'cgm' with CGM readings in the window, else 'meter' with finger-sticks, else None."""
        if self.cgm.size:
            return "cgm"
        return "meter" if self.meter.size else None

    @property
    def readings(self) -> Series:
        return self.cgm if self.mode == "cgm" else self.meter

    def kinds(self) -> set[str]:
        return {m.get("kind") for _, m in self.meds}

    def of_kind(self, kind: str) -> list[tuple[int, dict]]:
        return [(i, m) for i, m in self.meds if m.get("kind") == kind]

    def note(self, rule: str, reason: str) -> None:
        self.notes.append({"rule": rule, "reason": reason})

    def since_change(self, kind: str) -> int:
        """First local day on the current dose of `kind` (the day after it changed)."""
        changed = self.changed.get(kind)
        return self.first if changed is None else max(self.first, changed + 1)

    def settling(self, kind: str, days: int) -> str | None:
        changed = self.changed.get(kind)
        if changed is None or self.last - changed >= days:
            return None
        return (
            f"the {DRUG_WORDS.get(kind, kind)} changed on {day_iso(changed)}: a change settles "
            f"for {days} days before its effect is judged"
        )

    def clock_values(self, s: Series, which: str) -> dict[int, float]:
        """{local day: its ``fasting`` or ``bedtime`` value} from the readings `s`: on CGM the
        median of the hour before the plan's wake time or bedtime (days with at least 3
        readings there), from finger-sticks the median of the day's readings tagged so."""
        if self.mode == "cgm":
            return cgm_hour_values(s, self.wake if which == "fasting" else self.bedtime)
        return meter_tag_values(s, which)


def _clean_targets(raw) -> dict:
    """The plan's targets with only well-formed parts (a plan is whatever a form or an API
    client sent): numeric range limits, goals with a known comparison and a numeric target,
    finger-stick targets as (low, high) pairs. Without targets: the consensus standard."""
    if not isinstance(raw, dict) or not raw:
        return {**PRESETS["standard"], "preset": "standard"}
    low, high = as_number(raw.get("range_low")), as_number(raw.get("range_high"))
    if low is None or high is None or low >= high:
        low, high = c.LOW_BELOW, c.HIGH_ABOVE
    goals = []
    for goal in raw.get("goals") if isinstance(raw.get("goals"), list) else []:
        if not isinstance(goal, dict) or goal.get("comparison") not in (">", ">=", "<", "<="):
            continue
        target = as_number(goal.get("target"))
        if isinstance(goal.get("key"), str) and target is not None:
            goals.append({**goal, "target": target})
    clean = {
        "preset": raw.get("preset") if isinstance(raw.get("preset"), str) else "custom",
        "label": raw.get("label") if isinstance(raw.get("label"), str) else "",
        "range_low": plain(low),
        "range_high": plain(high),
        "goals": goals,
    }
    meter = raw.get("meter_targets")
    if isinstance(meter, dict):
        pairs = {}
        for tag, pair in meter.items():
            if isinstance(pair, list | tuple) and len(pair) == 2:
                pairs[tag] = (as_number(pair[0]), as_number(pair[1]))
        if pairs:
            clean["meter_targets"] = pairs
    return clean


def build_case(
    content,
    *,
    tz,
    start,
    end,
    times,
    values,
    meter_times,
    meter_values,
    meter_tags,
    meal_times,
    patterns,
    diabetes_type,
    weight_kg,
    changed_on,
    cgm_window_metrics=None,
) -> Case:
    """The case of one window. ``cgm_window_metrics``: the caller's own
    ``cgm_metrics(times, values, tz=tz, start=start, end=end, exact=True)`` (a report has
    computed them already); they stand for the case's window metrics when the window keeps
    every CGM reading and ``start``/``end`` are its ISO dates — then the case's computation
    would get the same input — else the case computes its own."""
    content = content if isinstance(content, dict) else {}
    targets = _clean_targets(content.get("targets"))
    meds_raw = content.get("medications") if isinstance(content.get("medications"), list) else []
    meds = [(i, m) for i, m in enumerate(meds_raw) if isinstance(m, dict)]
    cgm = cgm_series(times, values, tz)
    meter = meter_series(meter_times, meter_values, meter_tags, tz)
    first, last = parse_date(start), parse_date(end)
    all_days = np.concatenate([cgm.day, meter.day])
    if first is None and all_days.size:
        first = int(all_days.min())
    if last is None and all_days.size:
        last = int(all_days.max())
    if first is None or last is None or last < first:
        first = last = 0
        cgm_window_metrics = None
        cgm, meter = cgm.where(np.zeros(cgm.size, bool)), meter.where(np.zeros(meter.size, bool))
    else:
        in_window = (cgm.day >= first) & (cgm.day <= last)
        if not (in_window.all() and start == day_iso(first) and end == day_iso(last)):
            cgm_window_metrics = None  # not the input the caller's metrics came from
        cgm = cgm.where(in_window)
        meter = meter.where((meter.day >= first) & (meter.day <= last))
    changed = {}
    for kind, when in (changed_on or {}).items():
        try:
            day = parse_date(when)
        except (TypeError, ValueError):
            continue
        if day is not None:
            changed[kind] = day
    weight = as_number(weight_kg)
    case = Case(
        content=content,
        targets=targets,
        meds=meds,
        tz=tz,
        first=first,
        last=last,
        cgm=cgm,
        meter=meter,
        meals=np.empty(0, "int64"),
        wake=clock_minutes(content.get("wake_time"), DEFAULT_WAKE_TIME),
        bedtime=clock_minutes(content.get("bedtime"), DEFAULT_BEDTIME),
        diabetes_type=diabetes_type,
        weight_kg=weight if weight and weight > 0 else None,
        changed=changed,
        patterns=[p for p in (patterns or []) if isinstance(p, dict)],
    )
    case.meals = _meal_starts(case, meal_times)
    if case.mode == "cgm":
        case.metrics = (
            without_mage_and_agp(cgm_window_metrics)
            if cgm_window_metrics is not None
            else window_metrics(cgm, tz, first, last)
        )
        if own_range(targets):
            low, high = as_number(targets.get("range_low")), as_number(targets.get("range_high"))
            if low is not None and high is not None:
                case.metrics.update(range_percents(cgm.v, low, high))
        case.sufficient = sufficiency(
            days=case.metrics["days"],
            period_days=last - first + 1,
            active_percent=case.metrics["active_percent"],
        )["sufficient"]
    return case


def _meal_starts(case: Case, meal_times) -> np.ndarray:
    """Local ns of meal starts: the recorded ones (``meal_times``) on the days that have any,
    the plan's clock times (``meal_times`` in the content, default 07:00 / 12:00 / 18:00) on
    the other days of the window (and the day before it)."""
    recorded = np.empty(0, "int64")
    if meal_times is not None and len(meal_times):
        recorded = np.sort(local_ns(np.sort(as_ns(meal_times)), case.tz))
        days = recorded // NS_PER_DAY
        recorded = recorded[(days >= case.first - 1) & (days <= case.last)]
    clocks = case.content.get("meal_times")
    clocks = clocks if isinstance(clocks, list) else []
    minutes = sorted({m for m in (parse_clock(x) for x in clocks) if m is not None})
    minutes = minutes or [parse_clock(x) for x in DEFAULT_MEAL_TIMES]
    days = np.arange(case.first - 1, case.last + 1, dtype="int64")
    days = days[~np.isin(days, recorded // NS_PER_DAY)]
    grid = days[:, None] * NS_PER_DAY + np.array(minutes, "int64")[None, :] * NS_PER_MINUTE
    return np.sort(np.concatenate([recorded, grid.ravel()]))
