"""Per-patient, per-local-day additive summaries, so population views never scan raw readings.

Every field is a sum, a count, a min or a max, so days combine by addition (or min/max):
mean = sum / count; sample SD = sqrt((sum_sq - sum^2 / count) / (count - 1)); band percents =
100 * n_band / count; LBGI = rl_sum / count, HBGI = rh_sum / count (Kovatchev risk summed per
day). `metrics_from_rollups` therefore gives the same numbers as `cgm_metrics` over the same
readings, with `start`/`end` set to the first and last rollup dates (whole local days):
active % = count / expected readings, expected = window minutes / interval, where window
minutes are each local day's real length when the caller passes the patients' `zones` (23 or
25 h on DST days, whether or not the day has a rollup row), else a frame's `day_minutes`
column, else 1440.
The device interval of a window is the count-weighted median of its days' intervals (what the
raw path's median spacing finds). The one difference: `cgm_metrics` counts distinct interval
slots for active %, a rollup counts readings, so two readings in one slot (two devices at
different instants) raise a rollup's active % (capped at 100).
"""

from __future__ import annotations

import functools
from collections.abc import Mapping

import numpy as np
import pandas as pd

from glycemia import constants as c
from glycemia.metrics import SUMMARY_KEYS, kovatchev_risk
from glycemia.series import (
    NS_PER_DAY,
    clean_series,
    day_minutes,
    detect_interval,
    local_ns,
)

ROLLUP_FIELDS = (
    "count",
    "sum",
    "sum_sq",
    "min",
    "max",
    "n_very_low",
    "n_low",
    "n_in_range",
    "n_high",
    "n_very_high",
    "n_tight",
    "rl_sum",
    "rh_sum",
)

POPULATION_COLUMNS = SUMMARY_KEYS

_COUNT_FIELDS = ("count", "n_very_low", "n_low", "n_in_range", "n_high", "n_very_high", "n_tight")


def _group_sums(group: np.ndarray, v: np.ndarray, ngroups: int) -> dict[str, np.ndarray]:
    """ROLLUP_FIELDS per integer group (0..ngroups-1) with bincount, no Python loop."""
    rl, rh = kovatchev_risk(v)
    vlow = v < c.VERY_LOW_BELOW
    below70 = v < c.LOW_BELOW
    above180 = v > c.HIGH_ABOVE
    vhigh = v > c.VERY_HIGH_ABOVE

    def count(mask):  # integer bincount of the selected rows: no float weights
        return np.bincount(group[mask], minlength=ngroups).astype("int64")

    out = {
        "count": np.bincount(group, minlength=ngroups).astype("int64"),
        "sum": np.bincount(group, weights=v, minlength=ngroups),
        "sum_sq": np.bincount(group, weights=v * v, minlength=ngroups),
        "n_very_low": count(vlow),
        "n_low": count(below70 & ~vlow),
        "n_in_range": count(~below70 & ~above180),
        "n_high": count(above180 & ~vhigh),
        "n_very_high": count(vhigh),
        "n_tight": count((v >= c.TIGHT_LOW) & (v <= c.TIGHT_HIGH)),
        "rl_sum": np.bincount(group, weights=rl, minlength=ngroups),
        "rh_sum": np.bincount(group, weights=rh, minlength=ngroups),
    }
    mins = np.full(ngroups, np.inf)
    maxs = np.full(ngroups, -np.inf)
    np.minimum.at(mins, group, v)
    np.maximum.at(maxs, group, v)
    out["min"], out["max"] = mins, maxs
    return out


def daily_rollups(times, values, *, tz: str = "UTC") -> pd.DataFrame:
    """One row per local date with readings, columns ROLLUP_FIELDS, index `date` (datetime.date).

    >>> daily_rollups(times, values, tz="Europe/Bucharest").loc[date(2024, 5, 1), "count"]
    ... # doctest: +SKIP
    288
    """
    t, v = clean_series(times, values)
    days = local_ns(t, tz) // NS_PER_DAY
    unique_days, group = np.unique(days, return_inverse=True)
    sums = _group_sums(group, v, unique_days.size)
    index = pd.Index(unique_days.astype("datetime64[D]").astype(object), name="date")
    return pd.DataFrame({f: sums[f] for f in ROLLUP_FIELDS}, index=index)


@functools.lru_cache(maxsize=4096)
def _window_minutes(tz: str, first_day: int, last_day: int) -> float:
    """Minutes in local days first_day..last_day (day numbers since 1970) in zone ``tz``."""
    return float(day_minutes(np.arange(first_day, last_day + 1), tz).sum())


def metrics_from_rollups(
    df: pd.DataFrame,
    *,
    start=None,
    end=None,
    exact: bool = False,
    zones: Mapping[int, str] | None = None,
) -> pd.DataFrame:
    """Metrics per patient from daily rollups, vectorized (one groupby, no loop per patient).

    `df` columns: patient_id, date, ROLLUP_FIELDS, interval_minutes (and optionally
    day_minutes). The window of each patient is its first to last rollup date, or
    [start, end] (local dates, inclusive) when given; rows outside it are ignored.
    `zones` ({patient_id: IANA zone}) makes the window's length exact on DST days (what the
    raw path measures); a patient missing from it counts 1440 minutes a day.
    Returns one row per patient_id with POPULATION_COLUMNS.
    """
    frame = df
    dates = pd.to_datetime(frame["date"]).to_numpy().astype("datetime64[D]").astype("int64")
    if start is not None or end is not None:
        keep = np.ones(len(frame), dtype=bool)
        if start is not None:
            keep &= dates >= np.datetime64(str(start)[:10], "D").astype("int64")
        if end is not None:
            keep &= dates <= np.datetime64(str(end)[:10], "D").astype("int64")
        frame, dates = frame[keep], dates[keep]
    day_minutes = frame["day_minutes"] if "day_minutes" in frame else 1440.0
    work = pd.DataFrame(
        {
            "patient_id": frame["patient_id"].to_numpy(),
            "_day": dates,
            "_day_minutes": np.broadcast_to(np.asarray(day_minutes, dtype="float64"), len(frame)),
            "_interval": frame["interval_minutes"].to_numpy(dtype="float64"),
            **{f: frame[f].to_numpy() for f in ROLLUP_FIELDS if f not in ("min", "max")},
        }
    )
    g = work.groupby("patient_id", sort=True)
    agg = g.agg(
        **{f: (f, "sum") for f in ROLLUP_FIELDS if f not in ("min", "max")},
        first_day=("_day", "min"),
        last_day=("_day", "max"),
        covered_minutes=("_day_minutes", "sum"),
        rows=("_day", "size"),
    )
    agg["interval"] = _window_interval(work)
    days = (agg["last_day"] - agg["first_day"] + 1).to_numpy(dtype="float64")
    if start is not None and end is not None:
        window_days = float(
            np.datetime64(str(end)[:10], "D").astype("int64")
            - np.datetime64(str(start)[:10], "D").astype("int64")
            + 1
        )
        days = np.full(len(agg), window_days)
    # Days without a rollup row count 1440 minutes; rows carry their own length.
    window_minutes = agg["covered_minutes"].to_numpy() + (days - agg["rows"].to_numpy()) * 1440.0
    if zones:
        if start is not None and end is not None:
            firsts = np.full(len(agg), np.datetime64(str(start)[:10], "D").astype("int64"))
        else:
            firsts = agg["first_day"].to_numpy(dtype="int64")
        lasts = firsts + days.astype("int64") - 1
        window_minutes = np.array(
            [
                _window_minutes(zones[pid], int(a), int(b)) if pid in zones else minutes
                for pid, a, b, minutes in zip(
                    agg.index.tolist(), firsts, lasts, window_minutes, strict=True
                )
            ]
        )
    return _finish(agg, days, window_minutes, exact)


def _window_interval(work: pd.DataFrame) -> pd.Series:
    """Per patient, the interval of the days holding the middle reading (count-weighted median).

    The raw path takes the median spacing of all the window's readings; days at 5 minutes
    hold three times the readings of days at 15, so the interval most readings were taken
    at is what that median finds, and this finds the same from the days' intervals.
    """
    per = work.groupby(["patient_id", "_interval"], sort=True)["count"].sum().reset_index()
    cumulative = per.groupby("patient_id")["count"].cumsum()
    total = per.groupby("patient_id")["count"].transform("sum")
    middle = per[2 * cumulative >= total]
    return middle.groupby("patient_id")["_interval"].first()


def _finish(agg: pd.DataFrame, days, window_minutes, exact: bool) -> pd.DataFrame:
    n = agg["count"].to_numpy(dtype="float64")
    total = agg["sum"].to_numpy(dtype="float64")
    sum_sq = agg["sum_sq"].to_numpy(dtype="float64")
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(n > 0, total / n, np.nan)
        var = np.where(n > 1, np.maximum(sum_sq - total * total / n, 0.0) / (n - 1), np.nan)
        sd = np.sqrt(var)
        pct = {
            k: np.where(n > 0, 100.0 * agg[f].to_numpy(dtype="float64") / n, np.nan)
            for k, f in (
                ("very_low_percent", "n_very_low"),
                ("low_percent", "n_low"),
                ("in_range_percent", "n_in_range"),
                ("high_percent", "n_high"),
                ("very_high_percent", "n_very_high"),
                ("tight_range_percent", "n_tight"),
            )
        }
        expected = window_minutes / agg["interval"].to_numpy(dtype="float64")
        active = np.minimum(100.0, 100.0 * n / expected)
        gri = np.minimum(
            c.GRI_WEIGHT_VERY_LOW * pct["very_low_percent"]
            + c.GRI_WEIGHT_LOW * pct["low_percent"]
            + c.GRI_WEIGHT_VERY_HIGH * pct["very_high_percent"]
            + c.GRI_WEIGHT_HIGH * pct["high_percent"],
            c.GRI_CAP,
        )
        out = pd.DataFrame(
            {
                "readings": n.astype("int64"),
                "days": np.asarray(days).astype("int64"),
                "active_percent": active,
                "mean_mg_dl": mean,
                "sd_mg_dl": sd,
                "cv_percent": 100.0 * sd / mean,
                "gmi_percent": c.GMI_INTERCEPT + c.GMI_SLOPE * mean,
                **pct,
                "gri": gri,
                "lbgi": np.where(n > 0, agg["rl_sum"].to_numpy() / n, np.nan),
                "hbgi": np.where(n > 0, agg["rh_sum"].to_numpy() / n, np.nan),
            },
            index=agg.index,
        )
    zone_edges = [upper for upper, _ in c.GRI_ZONES]
    labels = np.array([zone for _, zone in c.GRI_ZONES] + [c.GRI_ZONE_TOP], dtype=object)
    zone = labels[np.searchsorted(zone_edges, np.nan_to_num(gri), side="left")]
    out["gri_zone"] = np.where(np.isnan(gri), None, zone)
    out = out[list(POPULATION_COLUMNS)]
    if not exact:
        from glycemia.metrics import ROUNDING

        for col, digits in ROUNDING.items():
            if col in out:
                out[col] = out[col].round(digits)
    return out


def population_metrics(
    patient_ids,
    times,
    values,
    *,
    tz="UTC",
    start=None,
    end=None,
    interval_minutes=None,
    exact: bool = False,
) -> pd.DataFrame:
    """Metrics for many patients from raw readings, vectorized across patients.

    `patient_ids`, `times`, `values` are parallel arrays; `tz` is one zone name or a mapping
    {patient_id: zone}. Readings are grouped per (patient, local date) into rollups and then
    summarised exactly as `metrics_from_rollups` does (same window rule). The device interval
    is detected per patient (median spacing) unless `interval_minutes` is given.
    """
    pid = np.asarray(patient_ids)
    t_all = np.asarray(times)
    t_all = t_all.astype("datetime64[ns]").view("int64") if t_all.dtype.kind == "M" else t_all
    v_all = np.asarray(values, dtype="float64")
    ok = ~np.isnan(v_all)
    pid, t_all, v_all = pid[ok], t_all[ok].astype("int64"), v_all[ok]
    codes, uniques = pd.factorize(pid, sort=True)
    dc = np.diff(codes)
    if not ((dc > 0) | ((dc == 0) & (np.diff(t_all) >= 0))).all():  # sort unless sorted
        order = np.lexsort((t_all, codes))
        codes, t_all, v_all = codes[order], t_all[order], v_all[order]
    # Exact duplicate instants of one patient: keep the last (as clean_series does).
    dup = (np.diff(codes) == 0) & (np.diff(t_all) == 0)
    if dup.any():
        keep = np.append(~dup, True)
        codes, t_all, v_all = codes[keep], t_all[keep], v_all[keep]
    local, zones = _local_many(codes, t_all, uniques, tz)
    days = local // NS_PER_DAY
    key = codes.astype("int64") * 10_000_000 + (days - days.min())
    step = np.diff(key)
    if (step >= 0).all():  # the usual case (sorted by patient and time): no hashing
        starts = np.concatenate(([True], step > 0))
        ukeys, group = key[starts], np.cumsum(starts) - 1
    else:  # local dates can step back at a DST change at midnight
        ukeys, group = np.unique(key, return_inverse=True)
    sums = _group_sums(group, v_all, ukeys.size)
    roll = pd.DataFrame({f: sums[f] for f in ROLLUP_FIELDS})
    roll["patient_id"] = uniques[ukeys // 10_000_000]
    day_numbers = ukeys % 10_000_000 + days.min()
    roll["date"] = day_numbers.astype("datetime64[D]")
    roll["day_minutes"] = _day_minutes_many(ukeys // 10_000_000, day_numbers, zones)
    if interval_minutes:
        roll["interval_minutes"] = float(interval_minutes)
    else:
        roll["interval_minutes"] = _intervals(codes, t_all, len(uniques))[ukeys // 10_000_000]
    return metrics_from_rollups(roll, start=start, end=end, exact=exact)


def _local_many(codes, t, uniques, tz):
    """(local ns per reading, zone name per patient): one conversion per distinct zone."""
    if isinstance(tz, str):
        return local_ns(t, tz), np.full(len(uniques), tz, dtype=object)
    patient_zone = np.array([tz.get(p, "UTC") for p in uniques], dtype=object)
    zones = patient_zone[codes]
    local = t.copy()
    for zone in pd.unique(zones):
        mask = zones == zone
        local[mask] = local_ns(t[mask], zone)
    return local, patient_zone


def _day_minutes_many(patient_codes, day_numbers, patient_zone) -> np.ndarray:
    out = np.full(day_numbers.size, 1440.0)
    zones = patient_zone[patient_codes]
    for zone in pd.unique(zones):
        mask = zones == zone
        out[mask] = day_minutes(day_numbers[mask], zone)
    return out


def _intervals(codes: np.ndarray, t: np.ndarray, npatients: int) -> np.ndarray:
    """Device interval per patient (median spacing snapped to 1/5/15 min), vectorized."""
    same = np.diff(codes) == 0
    diffs = pd.Series(np.diff(t)[same]).groupby(codes[1:][same]).median()
    out = np.full(npatients, 5.0)
    for_patient = diffs.to_numpy() / 60e9
    snapped = np.where(for_patient < 3, 1.0, np.where(for_patient < 10, 5.0, 15.0))
    out[diffs.index.to_numpy()] = snapped
    return out


def interval_for(times) -> int:
    """Convenience for callers building rollup frames: the detected device interval."""
    t, _ = clean_series(times, np.zeros(len(times)))
    return detect_interval(t)
