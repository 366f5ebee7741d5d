"""Pattern detection: worded findings a clinician scans first. Pure numpy, no Django.

Inputs are a report's arrays in the patient's *local* time — ``minute`` (minute of the day,
0–1439), ``day`` (local day number) and ``values`` (mg/dL) — or its metrics dict. Each
function returns a finding ``{"code", "severity", "params", "text"}`` or None; ``text`` is the
English wording (the page words it again in the reader's language from ``code`` + ``params``).

    >>> insufficient_data({"days": 14, "active_percent": 52.0, "sufficient": False})["text"]
    'Insufficient data: 52.0 % active over 14 days.'
"""

from __future__ import annotations

import numpy as np

from glycemia import display

LOW_BELOW = 70.0  # level 1 hypoglycaemia (Battelino 2019)
NIGHT_START_MINUTE, NIGHT_END_MINUTE = 0, 6 * 60  # night 00:00–06:00, as the AGP report
NOCTURNAL_MIN_NIGHTS = 2  # lows on at least 2 nights make a pattern worth a look
CLUSTER_WINDOW_MINUTES = 120  # "mostly 02:00–04:00": the busiest 2-hour block
BREAKFAST_START, BREAKFAST_END = 6 * 60, 10 * 60  # 06:00–10:00 local
# A rise of 60 mg/dL (3.3 mmol/L) or more from the morning low to the morning peak is a large
# post-breakfast excursion: a clinical rule of thumb, not a consensus number; tune with clinicians.
BREAKFAST_RISE_MG_DL = 60.0
MOST_DAYS_SHARE = 0.5  # "most days": more than half of the days with breakfast-time data
MIN_READINGS_PER_MORNING = 6  # fewer readings in 06:00–10:00 cannot show a rise
CV_HIGH_PERCENT = 36.0  # glycaemic variability target (Monnier 2017; Battelino 2019)
SUFFICIENT_DAYS = 14  # Battelino 2019
SUFFICIENT_ACTIVE_PERCENT = 70.0  # Battelino 2019
HYPO_CLUSTER_MIN_EVENTS = 3
HYPO_CLUSTER_SHARE = 0.5  # at least half of the events start in one 4-hour block
HYPO_CLUSTER_BLOCK_MINUTES = 240


def _hhmm(minute: int) -> str:
    minute = int(minute) % 1440
    return f"{minute // 60:02d}:{minute % 60:02d}"


def _busiest_window(minutes: np.ndarray, width: int) -> tuple[int, int]:
    """(start minute, count) of the `width`-minute block (on the hour) holding most minutes."""
    hours = (np.asarray(minutes, dtype="int64") // 60) % 24
    per_hour = np.bincount(hours, minlength=24)
    span = width // 60
    sums = np.array([per_hour[[(h + k) % 24 for k in range(span)]].sum() for h in range(24)])
    best = int(np.argmax(sums))
    return best * 60, int(sums[best])


def nocturnal_lows(minute, day, values, *, nights: int) -> dict | None:
    """Readings < 70 between 00:00 and 06:00 on at least two nights, with the usual time.

    >>> m = np.array([150, 160, 170]); d = np.array([0, 1, 2]); v = np.array([60.0, 65, 120])
    >>> nocturnal_lows(m, d, v, nights=3)["params"]["nights_with_lows"]
    2
    """
    minute, day, values = np.asarray(minute), np.asarray(day), np.asarray(values, dtype=float)
    low = (minute >= NIGHT_START_MINUTE) & (minute < NIGHT_END_MINUTE) & (values < LOW_BELOW)
    low_nights = np.unique(day[low]).size
    if low_nights < NOCTURNAL_MIN_NIGHTS:
        return None
    # The busiest two hours, counted in nights (not readings) so one long low does not win.
    night_hours = np.unique(np.stack([day[low], minute[low] // 60]), axis=1)
    start, _ = _busiest_window(night_hours[1] * 60, CLUSTER_WINDOW_MINUTES)
    end = start + CLUSTER_WINDOW_MINUTES
    params = {
        "nights_with_lows": int(low_nights),
        "nights": int(nights),
        "from": _hhmm(start),
        "to": _hhmm(end),
        "threshold_mg_dl": LOW_BELOW,
    }
    text = (
        f"Lows below 70 mg/dL on {low_nights} of {nights} nights, "
        f"mostly {params['from']}–{params['to']}."
    )
    return {"code": "nocturnal_lows", "severity": "warning", "params": params, "text": text}


def breakfast_rise(minute, day, values) -> dict | None:
    """Median rise from the morning low to the morning peak (06:00–10:00) over the days.

    Per day: peak = highest reading in 06:00–10:00, rise = peak − lowest reading before it in
    the window. A pattern when more than half of the days rise ≥ 60 mg/dL.
    """
    minute, day, values = np.asarray(minute), np.asarray(day), np.asarray(values, dtype=float)
    window = (minute >= BREAKFAST_START) & (minute < BREAKFAST_END)
    d, m, v = day[window], minute[window], values[window]
    if d.size == 0:
        return None
    order = np.lexsort((m, d))
    d, v = d[order], v[order]
    uniq, starts = np.unique(d, return_index=True)
    bounds = np.append(starts, d.size)
    rises = []
    for i in range(uniq.size):
        x = v[bounds[i] : bounds[i + 1]]
        if x.size < MIN_READINGS_PER_MORNING:
            continue
        running_min = np.minimum.accumulate(x)
        rises.append(float(np.max(x - running_min)))
    if not rises:
        return None
    rises = np.array(rises)
    big = int(np.count_nonzero(rises >= BREAKFAST_RISE_MG_DL))
    if big <= MOST_DAYS_SHARE * rises.size:
        return None
    median = float(np.median(rises))
    params = {"days_with_rise": big, "days": int(rises.size), "median_rise_mg_dl": round(median)}
    text = (
        f"Rise after breakfast on most days ({big} of {rises.size}): "
        f"median rise {round(median)} mg/dL between 06:00 and 10:00."
    )
    return {"code": "breakfast_rise", "severity": "info", "params": params, "text": text}


def high_variability(metrics: dict) -> dict | None:
    """CV above 36 % (Monnier 2017): unstable glucose, a hypoglycaemia risk."""
    cv = metrics.get("cv_percent")
    if cv is None or cv <= CV_HIGH_PERCENT:
        return None
    # Full precision in params; the words round once (glycemia.display), as every page.
    params = {"cv_percent": float(cv), "limit": CV_HIGH_PERCENT}
    text = f"High glucose variability: CV {display.percent(cv)} (goal ≤ 36 %)."
    return {"code": "high_variability", "severity": "warning", "params": params, "text": text}


def insufficient_data(metrics: dict) -> dict | None:
    """Fewer than 14 days or less than 70 % CGM active: the figures may not be representative."""
    days, active = metrics.get("days") or 0, metrics.get("active_percent")
    if days >= SUFFICIENT_DAYS and active is not None and active >= SUFFICIENT_ACTIVE_PERCENT:
        return None
    params = {"active_percent": None if active is None else float(active), "days": days}
    text = f"Insufficient data: {display.percent(active)} active over {days} days."
    return {"code": "insufficient_data", "severity": "warning", "params": params, "text": text}


def hypo_cluster(event_start_minutes) -> dict | None:
    """At least 3 hypo events, at least half starting in one 4-hour block of the day."""
    starts = np.asarray(event_start_minutes, dtype="int64")
    if starts.size < HYPO_CLUSTER_MIN_EVENTS:
        return None
    start, count = _busiest_window(starts, HYPO_CLUSTER_BLOCK_MINUTES)
    if count < HYPO_CLUSTER_SHARE * starts.size:
        return None
    params = {
        "events_in_block": count,
        "events": int(starts.size),
        "from": _hhmm(start),
        "to": _hhmm(start + HYPO_CLUSTER_BLOCK_MINUTES),
    }
    text = (
        f"Hypoglycaemia clustered at {params['from']}–{params['to']}: "
        f"{count} of {starts.size} events."
    )
    return {"code": "hypo_cluster", "severity": "warning", "params": params, "text": text}


def find_patterns(minute, day, values, metrics: dict, *, nights: int, hypo_starts) -> list[dict]:
    """All findings for a CGM report, most important first."""
    found = [
        insufficient_data(metrics),
        nocturnal_lows(minute, day, values, nights=nights),
        hypo_cluster(hypo_starts),
        high_variability(metrics),
        breakfast_rise(minute, day, values),
    ]
    return [f for f in found if f is not None]
