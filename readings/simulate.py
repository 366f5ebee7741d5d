"""Realistic synthetic glucose traces for the demo and the benchmarks (pure numpy, no Django).

A CGM trace is built on the device grid in the patient's *local* time, so the circadian
pattern follows their clock, then returned as UTC instants:

- a baseline level and daily random drift (AR(1)) per patient;
- the dawn phenomenon (a rise from ~04:00 to ~08:00);
- meal excursions after breakfast, lunch and dinner with day-to-day variation in time and size;
- optional nocturnal lows (a dip around 02:00–04:00 on some nights);
- sensor noise, sensor gaps (signal loss) and a 2-hour warm-up at each 10-day sensor change;
- values clipped to the sensor's 40–400 mg/dL range and flagged "low"/"high" at the limits.

    >>> profile = CgmProfile(mean=150, swing=1.0, nocturnal_lows=False)
    >>> t, v, flags = cgm_trace(profile, start=dt.date(2026, 1, 1), days=1, tz="UTC", seed=1)
    >>> len(t) <= 288
    True
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from dataclasses import dataclass

import numpy as np
import pandas as pd

SENSOR_LOW = 40.0  # Dexcom/Medtronic sensors report "Low" below 40 mg/dL
SENSOR_HIGH = 400.0  # ... and "High" above 400 mg/dL
SENSOR_DAYS = 10  # a Dexcom G6 sensor lasts 10 days
WARM_UP_MINUTES = 120  # G6 warm-up: no readings for 2 hours after insertion

MEAL_TAGS = ("fasting", "after_meal", "before_meal", "after_meal", "before_meal", "bedtime")


@dataclass(frozen=True)
class CgmProfile:
    mean: float = 150.0  # mg/dL around which the day is built
    swing: float = 1.0  # scales meal excursions and variability (poor control > 1)
    nocturnal_lows: bool = False
    dawn_rise: float = 25.0  # mg/dL added by the dawn phenomenon
    gap_rate: float = 0.01  # chance per hour of a sensor signal loss
    interval_minutes: int = 5


def _local_grid(start: dt.date, days: int, tz: str, interval_minutes: int):
    """UTC instants (int64 ns) and local minute-of-day for a regular grid of local days."""
    zone = zoneinfo.ZoneInfo(tz)
    first = dt.datetime.combine(start, dt.time(), zone).astimezone(dt.UTC)
    last = dt.datetime.combine(start + dt.timedelta(days=days), dt.time(), zone).astimezone(dt.UTC)
    step = interval_minutes * 60
    seconds = np.arange(int(first.timestamp()), int(last.timestamp()), step, dtype=np.int64)
    # Local minute of day, honouring DST: offset at each instant.
    offsets = _utc_offsets(seconds, zone)
    local = seconds + offsets
    minute_of_day = (local // 60) % 1440
    day_index = (local - int(dt.datetime.combine(start, dt.time(), dt.UTC).timestamp())) // 86400
    return seconds, minute_of_day.astype(np.float64), day_index.astype(np.int64)


def _utc_offsets(seconds: np.ndarray, zone: zoneinfo.ZoneInfo) -> np.ndarray:
    """UTC offset in seconds at each instant (evaluated hourly, then broadcast)."""
    hours = seconds // 3600
    unique_hours, inverse = np.unique(hours, return_inverse=True)
    offsets = np.array(
        [
            int(dt.datetime.fromtimestamp(int(h) * 3600, zone).utcoffset().total_seconds())
            for h in unique_hours
        ],
        dtype=np.int64,
    )
    return offsets[inverse]


def _bump(minutes: np.ndarray, centre: np.ndarray, width: float) -> np.ndarray:
    """A smooth meal-shaped excursion (gamma-like rise and slower fall) centred per day."""
    x = (minutes - centre) / width
    return np.where(x > 0, x * np.exp(1 - x), 0.0)


def cgm_trace(profile: CgmProfile, *, start: dt.date, days: int, tz: str, seed: int):
    """Return (utc_epoch_seconds int64, values mg/dL float64, flags list[str]) for one patient."""
    rng = np.random.default_rng(seed)
    seconds, minute, day = _local_grid(start, days, tz, profile.interval_minutes)
    n_days = int(day.max()) + 1 if day.size else 0
    # Day-level variation: meal times and sizes, daily level drift.
    breakfast = rng.normal(7.5 * 60, 30, n_days)[day]
    lunch = rng.normal(12.75 * 60, 40, n_days)[day]
    dinner = rng.normal(19 * 60, 45, n_days)[day]
    size = profile.swing * rng.uniform(0.5, 1.4, (3, n_days))
    drift = rng.normal(0, 12 * profile.swing, n_days)[day]
    glucose = profile.mean - 25 * profile.swing + drift
    glucose = glucose + profile.dawn_rise * np.clip(1 - np.abs(minute - 360) / 150, 0, 1)
    glucose = glucose + 85 * size[0][day] * _bump(minute, breakfast, 45)
    glucose = glucose + 70 * size[1][day] * _bump(minute, lunch, 50)
    glucose = glucose + 90 * size[2][day] * _bump(minute, dinner, 55)
    if profile.nocturnal_lows:
        nights = rng.random(n_days) < 0.35
        depth = rng.uniform(50, 95, n_days)
        centre = rng.normal(180, 30, n_days)
        dip = depth[day] * np.exp(-(((minute - centre[day]) / 50) ** 2))
        glucose = glucose - np.where(nights[day], dip, 0)
    # Correlated sensor/physiological noise: AR(1).
    noise = rng.normal(0, 6 * profile.swing, seconds.size)
    # y[i] = 0.8·y[i-1] + e[i], computed as an exponentially weighted mean (alpha 0.2) / 0.2.
    noise = pd.Series(noise).ewm(alpha=0.2, adjust=False).mean().to_numpy() / 0.2
    glucose = glucose + noise * 0.6
    keep = np.ones(seconds.size, dtype=bool)
    # Warm-up after each sensor change, and random signal losses of 20 min to 3 h.
    per_day = 1440 // profile.interval_minutes
    for change in range(0, n_days, SENSOR_DAYS):
        first = change * per_day
        keep[first : first + WARM_UP_MINUTES // profile.interval_minutes] = False
    for hour_start in np.flatnonzero(rng.random(n_days * 24) < profile.gap_rate):
        first = hour_start * (60 // profile.interval_minutes)
        keep[first : first + rng.integers(4, 36)] = False
    glucose = np.round(glucose[keep])
    flags = np.where(glucose < SENSOR_LOW, "low", np.where(glucose > SENSOR_HIGH, "high", ""))
    return seconds[keep], np.clip(glucose, SENSOR_LOW, SENSOR_HIGH), flags.tolist()


def meter_trace(*, start: dt.date, days: int, tz: str, mean: float, seed: int):
    """Finger-sticks: 2–7 a day at meal-related times, with meal tags.

    Returns (utc_epoch_seconds, values, meal_tags).
    """
    rng = np.random.default_rng(seed)
    zone = zoneinfo.ZoneInfo(tz)
    slots = ((7, 0), (9, 30), (12, 0), (14, 0), (18, 30), (20, 30), (22, 30))
    slot_tags = ("fasting", "after_meal", "before_meal", "after_meal", "before_meal", "after_meal")
    slot_tags = slot_tags + ("bedtime",)
    offsets = (0, 55, 0, 45, 0, 60, 10)  # mg/dL above fasting, by slot
    seconds, values, tags = [], [], []
    for d in range(days):
        date = start + dt.timedelta(days=d)
        count = int(rng.integers(2, 8))
        chosen = sorted(rng.choice(len(slots), size=count, replace=False))
        level = rng.normal(mean, 15)
        for i in chosen:
            hour, minute = slots[i]
            local = dt.datetime.combine(date, dt.time(hour, minute), zone) + dt.timedelta(
                minutes=int(rng.integers(-20, 20))
            )
            seconds.append(int(local.timestamp()))
            values.append(float(np.clip(round(level + offsets[i] + rng.normal(0, 18)), 45, 450)))
            tags.append(slot_tags[i])
    return np.array(seconds, dtype=np.int64), np.array(values), tags
