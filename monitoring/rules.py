"""Remote-monitoring rules, pure: thresholds, the AR2 forecast and alert episodes (issue #20
§1-§2; who receives an alert is ``monitoring.routing``). No Django here: the monitoring app
loads readings and episodes, passes plain values, and stores what this module answers.

Conventions
- **Units and time.** Glucose in mg/dL (DESIGN §3). Readings and episodes are epoch seconds
  (floats, UTC), passed as arrays: ``times``, ``values`` and ``low_marker`` (True for a
  device "Low"/"LO" marker, stored at the device's limit, e.g. 40 mg/dL). 5 minutes, in
  "5 minutes apart", allows ``READING_JITTER_SECONDS`` (30 s) of CGM clock wobble.
- **Window.** Evaluation reads a bounded window: the readings of the last
  ``evaluation_window_seconds(thresholds)`` (4 h 30 min with the defaults: the no-data silence
  plus a margin, longer than the 2-hour high run), the open episodes and the episodes that
  intersect the window. Readings may come unsorted and duplicated: one reading per instant is
  kept (the lowest value; a marker if any copy is one). Its cost depends on the window only.
- **Consecutive.** Two readings are consecutive when no more than ``MAX_GAP_SECONDS``
  (15 min, the longest CGM interval, Libre historic) apart; a longer gap breaks a run and a
  recovery, never an open episode (an alert stays open until recovery is seen).
- **Rules** (defaults; a plan may change the four API thresholds, see ``thresholds_for_plan``):
  - *urgent low*: two consecutive readings < 54 mg/dL (54 itself is not), or one "Low" marker.
    It must not wait for the 15 minutes the consensus needs to *count* a level-2 episode.
  - *predicted low*: Nightscout's AR2 forecast from the latest reading is <= 54 at any of the
    next 20 minutes (+5, +10, +15, +20). Only where the two readings it needs are 5 minutes
    apart (``ar2_previous_index``); markers give no forecast (they are limits, not values).
    An urgent low supersedes it: the predicted low closes when the urgent low opens.
  - *high*: readings above the plan's high threshold (> 250 mg/dL; > 180 for pregnancy
    plans) for >= 2 hours, from the first reading of the run to the latest.
  - *no data*: no reading for 4 hours while enrolled (measured from the last reading or the
    enrolment, whichever is later); closes when a reading less than 4 hours old arrives.
  - *recovery*: an urgent or predicted low closes when glucose has stayed >= 70 mg/dL for
    15 minutes (the consensus end of a hypoglycaemic episode, Battelino 2019 / 2023,
    ``glycemia.constants.EVENT_END_MINUTES``); a high closes after 15 minutes <= its
    threshold (the consensus end of a hyperglycaemic episode). The 15 minutes are *seen*:
    from the first reading back to the latest (4 readings of a 5-minute sensor), because an
    alert cannot count ahead the interval of its latest reading as ``glycemia.events`` does
    for finished data. The episode's ``ended_at`` is still the first reading back, as there.
- **Episodes, not readings.** At most one open episode per kind. Evaluation recomputes each
  rule over the window and reconciles the result with the known episodes, so re-delivered,
  duplicated or out-of-order readings never open a second episode: readings inside a known
  closed episode are its own, an open episode is continued from its first reading.
- **Live, not history.** An episode is opened (an alert) only while it is going on at the
  latest reading and that reading is at most ``live_minutes`` (30) old. Otherwise an urgent
  low or high found in the readings is a *past episode*: recorded, never alerted. A past
  episode still going on when its data ended (a back-filled batch) is continued like an open
  one: live data that shows it still going on makes it an alert at once. Predicted lows and
  no-data silences exist only live.

Sources: Battelino et al., Diabetes Care 2019 (targets, level-2 hypoglycaemia < 54);
Battelino et al., Lancet Diabetes Endocrinol 2023 (episode start/end, extended
hyperglycaemia > 250 for >= 120 min); Nightscout cgm-remote-monitor ``lib/plugins/ar2.js``
(AR2 coefficients, 140 mg/dL centre, 5-minute steps). Alerting choices with no consensus
(no-data hours, pregnancy high threshold, live horizon) are product defaults, named.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace

import numpy as np

from glycemia import constants as c

# --- Thresholds -----------------------------------------------------------------------------

KINDS = ("urgent_low", "predicted_low", "high", "no_data")
PAST_KINDS = ("urgent_low", "high")  # found in history; predicted lows and silences are live

URGENT_LOW_BELOW = c.VERY_LOW_BELOW  # 54: level 2 hypoglycaemia, Battelino 2019
RECOVERY_AT_LEAST = c.LOW_BELOW  # 70: a low ends at >= 70 (Battelino 2019 / 2023)
RECOVERY_MINUTES = c.EVENT_END_MINUTES  # 15: ... for >= 15 minutes (Battelino 2019 / 2023)
URGENT_LOW_READINGS = 2  # issue #20: two consecutive readings < 54, not the 15 minutes
HIGH_ABOVE = c.VERY_HIGH_ABOVE  # 250: level 2 hyperglycaemia, Battelino 2019
HIGH_ABOVE_PREGNANCY = c.HIGH_ABOVE  # 180: product default for pregnancy plans (issue #20),
# whose own range tops at 140; 180 is the top of the consensus range
HIGH_MINUTES = c.EXTENDED_HYPER_MINUTES  # 120: extended hyperglycaemia, Battelino 2023
NO_DATA_HOURS = 4.0  # product default (issue #20), a setting per patient
LIVE_MINUTES = 30  # product default: readings older than this never open an alert
PREDICTED_LOW_MINUTES = 20  # issue #20: <= 54 within 20 minutes

# A gap longer than this breaks a run of readings (15 min: the longest CGM interval we know,
# glycemia.constants.DEVICE_INTERVALS).
MAX_GAP_SECONDS = max(c.DEVICE_INTERVALS) * 60
WINDOW_MARGIN_SECONDS = 30 * 60  # window slack for late and out-of-order readings

# Bounds a plan's own thresholds must stay within (product choices: beyond them an alert would
# be meaningless or would fire on ordinary readings).
THRESHOLD_BOUNDS = {
    "urgent_low_mg_dl": (40.0, 70.0),
    "high_mg_dl": (140.0, 400.0),
    "high_minutes": (15.0, 720.0),
    "no_data_hours": (1.0, 48.0),
}


@dataclass(frozen=True)
class Thresholds:
    """The four per-patient thresholds of the API (issue #20 §1) and the live horizon."""

    urgent_low_mg_dl: float = URGENT_LOW_BELOW
    high_mg_dl: float = HIGH_ABOVE
    high_minutes: float = HIGH_MINUTES
    no_data_hours: float = NO_DATA_HOURS
    live_minutes: float = LIVE_MINUTES


def is_pregnancy_plan(targets: Mapping | None) -> bool:
    """A pregnancy preset, or a custom plan whose range tops at 140 or below (as
    ``glycemia.targets.meter_targets`` decides).

    >>> is_pregnancy_plan({"preset": "pregnancy_t1", "range_low": 63, "range_high": 140})
    True
    >>> is_pregnancy_plan({"preset": "custom", "range_low": 70, "range_high": 180})
    False
    """
    if not targets:
        return False
    preset = str(targets.get("preset") or "")
    if preset.startswith("pregnancy"):
        return True
    high = targets.get("range_high")
    return preset == "custom" and _is_number(high) and high <= c.TIGHT_HIGH


def _is_number(x) -> bool:
    return isinstance(x, int | float) and not isinstance(x, bool) and math.isfinite(x)


def thresholds_for_plan(
    targets: Mapping | None, overrides: Mapping | None = None, *, live_minutes: float = LIVE_MINUTES
) -> Thresholds:
    """The thresholds of a patient: the defaults for their plan's targets (a ``targets`` dict of
    a care plan, as ``glycemia.targets.PRESETS``), then the clinician's ``overrides`` (the
    API's ``thresholds``; None or missing keys keep the default). Raises ValueError naming the
    key for a value that is not a number or is outside ``THRESHOLD_BOUNDS``.

    >>> thresholds_for_plan({"preset": "standard", "range_low": 70, "range_high": 180})
    Thresholds(urgent_low_mg_dl=54.0, high_mg_dl=250.0, high_minutes=120, no_data_hours=4.0, live_minutes=30)
    >>> thresholds_for_plan({"preset": "pregnancy_t1"}, {"no_data_hours": 2}).high_mg_dl
    180.0
    """  # noqa: E501
    values = {"high_mg_dl": HIGH_ABOVE_PREGNANCY if is_pregnancy_plan(targets) else HIGH_ABOVE}
    for key, value in (overrides or {}).items():
        if key not in THRESHOLD_BOUNDS:
            raise ValueError(f"{key}: unknown threshold")
        if value is None:
            continue
        low, high = THRESHOLD_BOUNDS[key]
        if not _is_number(value) or not low <= value <= high:
            raise ValueError(f"{key}: must be a number from {low:g} to {high:g}")
        values[key] = value
    return Thresholds(**values, live_minutes=live_minutes)


DEFAULT_THRESHOLDS = Thresholds()


def evaluation_window_seconds(thresholds: Thresholds = DEFAULT_THRESHOLDS) -> float:
    """How far back the caller must load readings for ``evaluate``: the longest rule (the
    no-data silence, or the high run) plus a margin.

    >>> evaluation_window_seconds() / 3600
    4.5
    """
    longest = max(
        thresholds.no_data_hours * 3600,
        thresholds.high_minutes * 60,
        thresholds.live_minutes * 60,
        RECOVERY_MINUTES * 60,
    )
    return longest + WINDOW_MARGIN_SECONDS


# --- Readings -------------------------------------------------------------------------------


def clean_readings(times, values, low_marker=None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Sorted readings, one per instant (the lowest value; a marker if any copy is one), without
    non-finite times or values and non-positive values.

    >>> t, v, low = clean_readings([600, 0, 300, 300], [80, 100, 91, 90], [0, 0, 0, 1])
    >>> t.tolist(), v.tolist(), low.tolist()
    ([0.0, 300.0, 600.0], [100.0, 90.0, 80.0], [False, True, False])
    """
    t = np.asarray(times, dtype="float64").ravel()
    v = np.asarray(values, dtype="float64").ravel()
    low = (
        np.zeros(t.size, dtype=bool)
        if low_marker is None
        else np.asarray(low_marker, dtype=bool).ravel()
    )
    if not t.size == v.size == low.size:
        raise ValueError("times, values and low_marker must have the same length")
    keep = np.isfinite(t) & np.isfinite(v) & (v > 0)
    t, v, low = t[keep], v[keep], low[keep]
    order = np.lexsort((v, t))
    t, v, low = t[order], v[order], low[order]
    if t.size == 0:
        return t, v, low
    first = np.ones(t.size, dtype=bool)
    first[1:] = t[1:] != t[:-1]
    group = np.cumsum(first) - 1
    any_low = np.zeros(int(group[-1]) + 1, dtype=bool)
    np.logical_or.at(any_low, group, low)
    return t[first], v[first], any_low


# --- AR2 forecast (Nightscout) --------------------------------------------------------------

# Nightscout's "ar2" forecast plugin (cgm-remote-monitor, lib/plugins/ar2.js): a second-order
# autoregression on y = ln(glucose / 140) with 5-minute steps,
# y[n+1] = -0.723 * y[n-1] + 1.716 * y[n].
AR2_COEFFICIENTS = (-0.723, 1.716)  # Nightscout ar2.js (on y[n-1], y[n])
AR2_CENTER_MG_DL = 140.0  # Nightscout ar2.js BG_REF, "central tendency"
AR2_STEP_SECONDS = 300  # Nightscout ar2.js: one step is 5 minutes
# CGM clocks wobble around 5 minutes: real Dexcom, Medtronic and Tandem traces in
# tests/fixtures/devices have steps of 295-307 s. "At most 5 minutes apart" allows this much.
READING_JITTER_SECONDS = 30


def ar2_forecast(previous_mg_dl: float, current_mg_dl: float, steps: int = 4) -> list[float]:
    """Glucose at +5, +10, ... minutes from a reading and the one 5 minutes before it.

    Unrounded and unclamped (Nightscout rounds to whole mg/dL and clamps to 36-400 for display
    only).

    >>> [round(x, 2) for x in ar2_forecast(100, 90)]
    [83.66, 79.64, 77.16, 75.73]
    """
    a, b = AR2_COEFFICIENTS
    before = math.log(previous_mg_dl / AR2_CENTER_MG_DL)
    now = math.log(current_mg_dl / AR2_CENTER_MG_DL)
    out = []
    for _ in range(steps):
        before, now = now, a * before + b * now
        out.append(AR2_CENTER_MG_DL * math.exp(now))
    return out


def ar2_previous_index(t: np.ndarray) -> np.ndarray:
    """For each reading of sorted ``t``, the index of the reading that serves as "5 minutes
    before" it, or -1: the latest reading at least 4 min 30 s older, if it is at most 5 min
    30 s older (``READING_JITTER_SECONDS``). A 5-minute sensor uses its previous reading; a
    1-minute sensor the one 5 readings back; a 6-minute gap gives no forecast.

    >>> ar2_previous_index(np.array([0.0, 300, 660, 720, 780, 840, 900, 960])).tolist()
    [-1, 0, -1, -1, -1, -1, -1, 2]

    (660 comes 6 minutes after 300; from 720 on readings are 1 minute apart, and 960 pairs
    with 660, 5 minutes before it.)
    """
    t = np.asarray(t, dtype="float64")
    j = np.searchsorted(t, t - (AR2_STEP_SECONDS - READING_JITTER_SECONDS), side="right") - 1
    ok = j >= 0
    ok[ok] = t[ok] - t[j[ok]] <= AR2_STEP_SECONDS + READING_JITTER_SECONDS
    return np.where(ok, j, -1)


def ar2_forecasts(t, v, low_marker=None, steps: int = 4) -> np.ndarray:
    """AR2 forecasts of sorted readings: an (n, steps) array, NaN where there is none (no
    reading 5 minutes before, or a marker among the two).

    >>> ar2_forecasts([0, 300], [100, 90], steps=1).round(2).tolist()
    [[nan], [83.66]]
    """
    t = np.asarray(t, dtype="float64")
    v = np.asarray(v, dtype="float64")
    low = np.zeros(t.size, dtype=bool) if low_marker is None else np.asarray(low_marker, bool)
    out = np.full((t.size, steps), np.nan)
    j = ar2_previous_index(t)
    ok = j >= 0
    ok[ok] = ~low[ok] & ~low[j[ok]]
    if not ok.any():
        return out
    a, b = AR2_COEFFICIENTS
    before = np.log(v[j[ok]] / AR2_CENTER_MG_DL)
    now = np.log(v[ok] / AR2_CENTER_MG_DL)
    for k in range(steps):
        before, now = now, a * before + b * now
        out[ok, k] = AR2_CENTER_MG_DL * np.exp(now)
    return out


def predicted_low_mask(t, v, low_marker=None, *, at_most: float = URGENT_LOW_BELOW) -> np.ndarray:
    """True where the AR2 forecast is <= ``at_most`` at any step within 20 minutes.

    >>> predicted_low_mask([0, 300, 600], [100, 80, 66]).tolist()  # 66 falling 14/5 min
    [False, False, True]
    """
    steps = PREDICTED_LOW_MINUTES * 60 // AR2_STEP_SECONDS
    forecasts = ar2_forecasts(t, v, low_marker, steps)
    with np.errstate(invalid="ignore"):
        return (forecasts <= at_most).any(axis=1)


# --- Episodes -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Episode:
    """One alert episode, open or closed, live or past.

    ``since``: the first reading of the run that met the rule (no data: the last reading
    before the silence, or None if it is older than the window). ``opened_at``: when the rule
    was met. ``last_at``/``last_value``: the latest reading taken into account.
    ``extreme``: nadir (lows) or peak (high), mg/dL. ``ended_at``: the first reading of the
    recovery (the consensus end); ``closed_at``: the reading that confirmed it (None while
    open). ``reason``: why it closed (``recovered``, ``superseded`` by an urgent low,
    ``data`` arrived). ``live``: False for a past episode (never alerted). ``id``: the
    caller's, carried through untouched.
    """

    kind: str
    since: float | None
    opened_at: float
    last_at: float | None = None
    last_value: float | None = None
    extreme: float | None = None
    ended_at: float | None = None
    closed_at: float | None = None
    reason: str = ""
    live: bool = True
    id: Hashable = None

    @property
    def is_open(self) -> bool:
        return self.live and self.closed_at is None

    @property
    def span_end(self) -> float:
        """The last instant that belongs to the episode (its confirmation, or latest reading)."""
        ends = [x for x in (self.closed_at, self.last_at, self.opened_at) if x is not None]
        return max(ends)


@dataclass(frozen=True)
class Action:
    """``open`` an episode, ``update`` or ``close`` a known one; ``episode`` is its new state.
    An opened episode has no ``id``, unless it continues a past episode that was still going
    on when its data ended (a back-filled batch): then it has that one's, to turn the past
    record into the live alert."""

    action: str
    episode: Episode


@dataclass(frozen=True)
class Evaluation:
    """Actions in the order to apply them (closes first, so one kind never has two open
    episodes even for a moment), and past episodes found in the window (new ones without an
    ``id``; with one, a known past episode brought up to date)."""

    actions: list[Action] = field(default_factory=list)
    past: list[Episode] = field(default_factory=list)


@dataclass
class _Rule:
    """A run rule over sorted readings, as boolean masks."""

    kind: str
    beyond: np.ndarray  # the reading counts towards the episode
    clear: np.ndarray  # the reading counts towards recovery
    instant: np.ndarray  # the reading alone meets the rule (a "Low" marker)
    min_readings: int
    min_seconds: float
    recover_seconds: float
    lower_is_worse: bool
    stop: np.ndarray  # readings owned by something else: an active episode ends there
    stop_reason: str = "known"  # ... as part of a known episode, or "superseded"


def _scan(t: np.ndarray, v: np.ndarray, rule: _Rule, seed: Episode | None) -> list[Episode]:
    """Episodes of ``rule`` over the readings, in order; at most the last one is ongoing.

    With ``seed`` (a known open episode) the scan starts at its first reading, already in the
    episode; the first result is then the seed's new state. An episode that reaches a
    ``stop`` reading ends there with the rule's ``stop_reason``.
    """
    worse = min if rule.lower_is_worse else max
    found: list[Episode] = []
    current = seed
    first = 0
    if seed is not None and seed.since is not None:
        first = int(np.searchsorted(t, seed.since, side="left"))
    run_start = None  # first index of the current run of beyond readings (no episode)
    run_count = 0
    clear_start = None  # first index of the current recovery run (in an episode)
    previous = None
    for i in range(first, t.size):
        ti, vi = float(t[i]), float(v[i])
        gap = previous is not None and ti - previous > MAX_GAP_SECONDS
        previous = ti
        if rule.stop[i]:
            if current is not None:
                found.append(replace(current, ended_at=ti, closed_at=ti, reason=rule.stop_reason))
                current = None
            run_start, clear_start = None, None
            continue
        if current is None:
            if not rule.beyond[i]:
                run_start = None
                continue
            if run_start is None or gap:
                run_start, run_count = i, 0
            run_count += 1
            long_enough = run_count >= rule.min_readings and ti - t[run_start] >= rule.min_seconds
            if rule.instant[i] or long_enough:
                run = v[run_start : i + 1]
                current = Episode(
                    kind=rule.kind,
                    since=float(t[run_start]),
                    opened_at=ti,
                    last_at=ti,
                    last_value=vi,
                    extreme=float(run.min() if rule.lower_is_worse else run.max()),
                )
                clear_start = None
            continue
        extreme = vi if current.extreme is None else worse(current.extreme, vi)
        if current.last_at is None or ti >= current.last_at:
            current = replace(current, last_at=ti, last_value=vi, extreme=extreme)
        else:  # an older reading of a seeded episode: only its nadir or peak can change
            current = replace(current, extreme=extreme)
        if not rule.clear[i]:
            clear_start = None
            continue
        if clear_start is None or gap:
            clear_start = i
        if ti - t[clear_start] >= rule.recover_seconds:
            found.append(
                replace(current, ended_at=float(t[clear_start]), closed_at=ti, reason="recovered")
            )
            current, run_start = None, None
    if current is not None:
        found.append(current)
    return found


def _inside(t: np.ndarray, spans: Iterable[tuple[float, float]]) -> np.ndarray:
    """Readings inside any closed interval of ``spans``."""
    mask = np.zeros(t.size, dtype=bool)
    for start, end in spans:
        mask |= (t >= start) & (t <= end)
    return mask


def _known(episodes: Sequence[Episode], kind: str) -> tuple[Episode | None, list[Episode]]:
    """(the open episode of ``kind`` or None, the others)."""
    mine = [e for e in episodes if e.kind == kind]
    open_ = [e for e in mine if e.is_open]
    if len(open_) > 1:
        raise ValueError(f"two open {kind} episodes: the store must keep one per kind")
    return (open_[0] if open_ else None), [e for e in mine if not e.is_open]


def _reconcile(
    kind: str,
    found: list[Episode],
    seed: Episode | None,
    *,
    live_since: float | None,
    actions: list[Action],
    past: list[Episode],
) -> list[Episode]:
    """Turn scan results into actions and past episodes; returns the episodes seen (open,
    opening or past), for the rules that depend on this one."""
    seen = []
    for n, episode in enumerate(found):
        if seed is not None and n == 0:
            if episode.closed_at is not None:
                actions.append(Action("close", episode))
            elif _changed(episode, seed):
                actions.append(Action("update", episode))
            seen.append(episode)
            continue
        if episode.reason == "known":
            continue  # it ran into a known episode: that one, seen from earlier readings
        if _is_live(episode, live_since):
            actions.append(Action("open", episode))
            seen.append(episode)
        elif kind in PAST_KINDS:
            record = replace(episode, live=False)
            past.append(record)
            seen.append(record)
    return seen


def _is_live(episode: Episode, live_since: float | None) -> bool:
    """Going on at a reading recent enough to alert on."""
    return (
        episode.closed_at is None
        and live_since is not None
        and episode.last_at is not None
        and episode.last_at >= live_since
    )


def _changed(new: Episode, old: Episode) -> bool:
    """Does ``new`` say more than ``old`` (a later reading, another nadir or peak, an end)?"""
    fields = ("since", "last_at", "last_value", "extreme", "ended_at", "closed_at")
    return any(getattr(new, f) != getattr(old, f) for f in fields)


def _evaluate_kind(
    t: np.ndarray,
    v: np.ndarray,
    rule: _Rule,
    *,
    seed: Episode | None,
    known: Sequence[Episode],
    live_since: float | None,
    actions: list[Action],
    past: list[Episode],
) -> list[Episode]:
    """One rule over the window, reconciled with the known episodes of its kind.

    Readings of finished known episodes are theirs (``stop``). A past episode still going on
    when its data ended is continued from its first reading, as an open one is: brought up
    to date, or opened live with its own id when live data shows it still going on (unless an
    alert of its kind is already open: then it ends where that one began).
    """
    unfinished = [e for e in known if not e.live and e.closed_at is None]
    finished = [e for e in known if e.live or e.closed_at is not None]
    taken = _known_spans(t, finished) | rule.stop
    alert = _inside(t, [(seed.since, math.inf)]) if seed is not None else rule.stop
    opened = seed is not None
    seen = []
    for episode in sorted(unfinished, key=lambda e: e.since):
        rule.stop = taken | alert
        new = _scan(t, v, rule, episode)[0]
        if not opened and _is_live(new, live_since):
            new = replace(new, live=True)
            actions.append(Action("open", new))
            opened = True
        elif _changed(new, episode):
            past.append(new)
        seen.append(new)
        taken = taken | _inside(t, [(episode.since, new.span_end)])
    rule.stop = taken
    found = _scan(t, v, rule, seed)
    return seen + _reconcile(
        rule.kind, found, seed, live_since=live_since, actions=actions, past=past
    )


def _rules(t, v, low, th: Thresholds) -> dict[str, _Rule]:
    """The run rules of urgent low, high and predicted low over sorted readings."""
    never = np.zeros(t.size, dtype=bool)
    recover = RECOVERY_MINUTES * 60
    back = (v >= RECOVERY_AT_LEAST) & ~low
    predicted = predicted_low_mask(t, v, low, at_most=th.urgent_low_mg_dl) & ~low
    urgent_low = _Rule(
        kind="urgent_low",
        beyond=(v < th.urgent_low_mg_dl) | low,
        clear=back,
        instant=low,
        min_readings=URGENT_LOW_READINGS,
        min_seconds=0,
        recover_seconds=recover,
        lower_is_worse=True,
        stop=never.copy(),
    )
    high = _Rule(
        kind="high",
        beyond=v > th.high_mg_dl,
        clear=v <= th.high_mg_dl,
        instant=never,
        min_readings=1,
        min_seconds=th.high_minutes * 60,
        recover_seconds=recover,
        lower_is_worse=False,
        stop=never.copy(),
    )
    predicted_low = _Rule(
        kind="predicted_low",
        beyond=predicted,
        clear=back & ~predicted,
        instant=never,
        min_readings=1,
        min_seconds=0,
        recover_seconds=recover,
        lower_is_worse=True,
        stop=never.copy(),
        stop_reason="superseded",
    )
    return {"urgent_low": urgent_low, "high": high, "predicted_low": predicted_low}


def _known_spans(t: np.ndarray, episodes: Iterable[Episode]) -> np.ndarray:
    """Readings that belong to known closed (or past) episodes."""
    return _inside(t, ((e.opened_at if e.since is None else e.since, e.span_end) for e in episodes))


def evaluate(
    times,
    values,
    low_marker=None,
    *,
    now: float,
    episodes: Sequence[Episode] = (),
    thresholds: Thresholds = DEFAULT_THRESHOLDS,
    enrolled_at: float | None = None,
) -> Evaluation:
    """What to open, update and close now, given the window of readings and the known
    episodes (every open one, and every one whose span intersects the window).

    Readings older than ``now - evaluation_window_seconds(thresholds)`` are ignored. The
    no-data rule applies only with ``enrolled_at``. Running it again with the same input, or
    after applying its actions, answers nothing new.

    >>> ev = evaluate([0, 300, 600], [60, 52, 50], now=600)
    >>> [(a.action, a.episode.kind, a.episode.opened_at) for a in ev.actions]
    [('open', 'urgent_low', 600.0)]
    """
    th = thresholds
    t, v, low = clean_readings(times, values, low_marker)
    keep = t >= now - evaluation_window_seconds(th)
    t, v, low = t[keep], v[keep], low[keep]
    live_since = now - th.live_minutes * 60
    actions: list[Action] = []
    past: list[Episode] = []
    seeds, known = {}, {}
    for kind in KINDS:
        seeds[kind], known[kind] = _known(episodes, kind)
    rules = _rules(t, v, low, th)
    seen = {}
    for kind in PAST_KINDS:
        seen[kind] = _evaluate_kind(
            t,
            v,
            rules[kind],
            seed=seeds[kind],
            known=known[kind],
            live_since=live_since,
            actions=actions,
            past=past,
        )
    # A predicted low is superseded from the moment an urgent low opens (known or new).
    urgent = [*known["urgent_low"], *seen["urgent_low"]]
    spans = [(e.opened_at, math.inf if e.closed_at is None else e.closed_at) for e in urgent]
    rules["predicted_low"].stop = _inside(t, spans)
    _evaluate_kind(
        t,
        v,
        rules["predicted_low"],
        seed=seeds["predicted_low"],
        known=known["predicted_low"],
        live_since=live_since,
        actions=actions,
        past=past,
    )

    actions.extend(_no_data(t, now=now, th=th, enrolled_at=enrolled_at, seed=seeds["no_data"]))
    order = {"close": 0, "update": 1, "open": 2}
    actions.sort(key=lambda a: order[a.action])
    return Evaluation(actions=actions, past=past)


def _no_data(
    t: np.ndarray, *, now: float, th: Thresholds, enrolled_at: float | None, seed: Episode | None
) -> list[Action]:
    """Open a no-data episode after ``no_data_hours`` of silence while enrolled; close it once
    the readings show the silence over (a reading less than ``no_data_hours`` old). A late
    reading from inside a silence that still lasts closes nothing (and so opens nothing)."""
    silence = th.no_data_hours * 3600
    last = float(t[-1]) if t.size else None
    if seed is not None:
        if last is None or now - last >= silence:
            return []
        # The silence began at opened_at - silence (its last reading, or the enrolment).
        first = float(t[t > seed.opened_at - silence][0])
        closed = replace(seed, last_at=last, ended_at=first, closed_at=last, reason="data")
        return [Action("close", closed)]
    if enrolled_at is None:
        return []
    start = max(enrolled_at, now - evaluation_window_seconds(th) if last is None else last)
    if now - start < silence:
        return []
    # With no reading in the window the silence began before it: opened now, since unknown.
    opened = now if last is None and start != enrolled_at else start + silence
    return [Action("open", Episode(kind="no_data", since=last, opened_at=opened))]


def past_episodes(
    times, values, low_marker=None, *, episodes: Sequence[Episode] = (), thresholds=None
) -> list[Episode]:
    """Urgent lows and highs in back-filled history (a file of last month): never alerts.

    The caller passes the readings of the imported span with ``evaluation_window_seconds`` of
    margin on each side and the known episodes there; readings inside a known episode are
    its own, so re-importing the same file finds nothing new.

    >>> [(e.kind, e.since, e.ended_at) for e in past_episodes([0, 300, 600, 900, 1200, 1500],
    ...     [50, 50, 80, 80, 80, 80])]
    [('urgent_low', 0.0, 600.0)]
    """
    th = thresholds or DEFAULT_THRESHOLDS
    t, v, low = clean_readings(times, values, low_marker)
    rules = _rules(t, v, low, th)
    out: list[Episode] = []
    for kind in PAST_KINDS:
        known = [e for e in episodes if e.kind == kind and not e.is_open]
        _evaluate_kind(
            t, v, rules[kind], seed=None, known=known, live_since=None, actions=[], past=out
        )
    return sorted(out, key=lambda e: (e.since, e.kind))
