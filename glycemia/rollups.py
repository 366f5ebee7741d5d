"""Per-patient, per-local-day additive summaries, so population views never scan raw readings.

Every field is a sum, a count, a min or a max, so days combine by addition (or min/max):
mean = sum / count; sample SD = sqrt((sum_sq - sum^2 / count) / (count - 1)); band percents =
100 * n_band / count; LBGI = rl_sum / count, HBGI = rh_sum / count (Kovatchev risk summed per
day). `metrics_from_rollups` therefore gives the same numbers as `cgm_metrics` over the same
readings, with `start`/`end` set to the first and last rollup dates (whole local days):
active % = slots / expected readings, where each rollup day is expected at its own
`interval_minutes` for its real length, and the window's days without a row at the interval
most readings were taken at (the count-weighted median of the days' intervals,
`series.window_interval`): a switch from a 5-minute to a 15-minute sensor keeps wear right
(DESIGN §3, issue #17). A day's length is its real one when the caller passes the patients'
`zones` (23 or 25 h on DST days, whether or not the day has a rollup row), else a frame's
`day_minutes` column, else 1440. A day's `interval_minutes` and `slots` (distinct interval
slots holding a reading) are not additive: they come from all the day's readings
(`daily_wear`, as `cgm_metrics` finds them), and ingest recomputes them for the days it
touches. A frame without `slots` (rows written before them) counts readings instead.
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
    NS_PER_MINUTE,
    clean_series,
    day_minutes,
    day_wear,
    detect_interval,
    distinct_slots,
    local_midnight_ns,
    local_ns,
    snap_interval,
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


def daily_wear(times, *, tz: str = "UTC") -> pd.DataFrame:
    """Per local date with readings: `interval_minutes` and `slots` (`series.day_wear`).

    From *all* of a day's CGM readings (not additive: ingest recomputes the days it touches).

    >>> daily_wear(times, tz="UTC").loc[date(2024, 1, 1)].tolist()  # doctest: +SKIP
    [5, 288]
    """
    t, _ = clean_series(times, np.zeros(len(times)))
    days, _, intervals, slots = day_wear(t, local_ns(t, tz), tz)
    index = pd.Index(days.astype("datetime64[D]").astype(object), name="date")
    return pd.DataFrame({"interval_minutes": intervals, "slots": slots}, index=index)


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
    if "day_minutes" in frame:
        row_minutes = frame["day_minutes"].to_numpy(dtype="float64")
    elif zones:
        row_minutes = _row_minutes(frame["patient_id"].to_numpy(), dates, zones)
    else:
        row_minutes = np.full(len(frame), 1440.0)
    intervals = frame["interval_minutes"].to_numpy(dtype="float64")
    counts = frame["count"].to_numpy(dtype="float64")
    if "slots" in frame:  # rows written before slots were kept count readings
        slots = pd.to_numeric(frame["slots"], errors="coerce").to_numpy(dtype="float64")
        slots = np.where(np.isnan(slots), counts, slots)
    else:
        slots = counts
    columns = {
        "covered_minutes": row_minutes,
        "expected_covered": row_minutes / intervals,
        "slots": slots,
        **{f: frame[f].to_numpy() for f in ROLLUP_FIELDS if f not in ("min", "max")},
    }
    agg = _per_patient(frame["patient_id"].to_numpy(), dates, intervals, columns)
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


def _row_minutes(patient_ids: np.ndarray, day_numbers: np.ndarray, zones) -> np.ndarray:
    """Each rollup row's local day length in its patient's zone (1440 for a patient without)."""
    row_zones = np.array([zones.get(pid, "UTC") for pid in patient_ids.tolist()], dtype=object)
    return _day_minutes_in_zones(row_zones, day_numbers)


def _day_minutes_in_zones(row_zones: np.ndarray, day_numbers: np.ndarray) -> np.ndarray:
    """Each row's local day length (1380 / 1500 on DST days) in the row's own zone: the one
    computation of day lengths for many patients, ``series.day_minutes`` once per zone."""
    out = np.full(day_numbers.size, 1440.0)
    for zone in pd.unique(row_zones):
        mask = row_zones == zone
        out[mask] = day_minutes(day_numbers[mask], zone)
    return out


def _per_patient(patient_ids, day_numbers, intervals, columns: dict) -> pd.DataFrame:
    """Per patient (sorted ids): the sum of each of ``columns``, the first and last day, the
    row count and the window's interval (``_window_interval``).

    The sums are pandas' groupby ``sum`` step for step (``_kahan_sums``), without its
    per-call overhead, which dominated a one-patient call (the triage refresh after every
    live post: 11 of 36 ms). Columns of another kind than numbers (none from the database)
    are summed by pandas itself."""
    ids = np.asarray(patient_ids)
    order = np.argsort(ids, kind="stable")  # a group's rows keep their order, as in pandas
    ordered = ids[order]
    starts = np.flatnonzero(np.r_[True, ordered[1:] != ordered[:-1]]) if ids.size else order
    lengths = np.diff(np.r_[starts, ids.size])
    index = pd.Index(ordered[starts], name="patient_id")
    sums = {}
    for name, values in columns.items():
        values = np.asarray(values)
        if values.dtype.kind in "iub":
            sums[name] = np.add.reduceat(values.astype("int64")[order], starts) if ids.size else []
        elif values.dtype.kind == "f":
            sums[name] = _kahan_sums(values.astype("float64")[order], starts, lengths)
        else:
            sums[name] = pd.Series(values).groupby(ids, sort=True).sum().to_numpy()
    days = np.asarray(day_numbers)[order]
    agg = pd.DataFrame(sums, index=index)
    agg["first_day"] = np.minimum.reduceat(days, starts) if ids.size else []
    agg["last_day"] = np.maximum.reduceat(days, starts) if ids.size else []
    agg["rows"] = lengths
    counts = np.asarray(columns["count"])
    agg["interval"] = _window_interval(ids, np.asarray(intervals, dtype="float64"), counts)
    return agg


def _kahan_sums(ordered: np.ndarray, starts: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """Each group's sum of ``ordered`` (float64, rows grouped, in row order within a group):
    Kahan-compensated and skipping NaN, operation for operation as pandas' groupby ``sum``
    (``group_sum``), so the totals agree to the last bit. Vectorised across groups: step
    ``k`` adds every group's ``k``-th row (at most a window's days of steps)."""
    total = np.zeros(len(starts))
    compensation = np.zeros(len(starts))
    for k in range(int(lengths.max()) if len(starts) else 0):
        live = np.flatnonzero(lengths > k)
        value = ordered[starts[live] + k]
        before, carried = total[live], compensation[live]
        y = value - carried
        t = before + y
        new_compensation = t - before - y
        new_compensation[np.isnan(new_compensation)] = 0.0  # an infinity, as pandas does
        present = ~np.isnan(value)
        total[live] = np.where(present, t, before)
        compensation[live] = np.where(present, new_compensation, carried)
    return total


def _window_interval(patient_ids, intervals, counts) -> np.ndarray:
    """Per patient (sorted ids), the interval of the days holding the middle reading
    (count-weighted median, `series.window_interval`, as the raw path finds it): what the
    window's days without a rollup row are expected at. NaN for a patient whose rows name no
    interval.
    """
    unique_ids = np.unique(patient_ids)
    out = np.full(unique_ids.size, np.nan)
    known = ~np.isnan(intervals)
    if not known.any():
        return out
    ids, values, weights = patient_ids[known], intervals[known], counts[known]
    order = np.lexsort((values, ids))
    ids, values, weights = ids[order], values[order], weights[order]
    # One row per (patient, interval) with its readings, in interval order per patient.
    new_pair = np.r_[True, (ids[1:] != ids[:-1]) | (values[1:] != values[:-1])]
    pair_starts = np.flatnonzero(new_pair)
    pair_ids, pair_values = ids[pair_starts], values[pair_starts]
    pair_counts = np.add.reduceat(weights, pair_starts)
    first_of_patient = np.flatnonzero(np.r_[True, pair_ids[1:] != pair_ids[:-1]])
    cumulative = np.cumsum(pair_counts)
    offset = np.repeat(cumulative[first_of_patient] - pair_counts[first_of_patient],
                       np.diff(np.r_[first_of_patient, pair_ids.size]))  # fmt: skip
    within = cumulative - offset
    totals = np.repeat(np.add.reduceat(pair_counts, first_of_patient),
                       np.diff(np.r_[first_of_patient, pair_ids.size]))  # fmt: skip
    middle = 2 * within >= totals
    # The first pair at or past the middle, per patient.
    hit = np.flatnonzero(middle)
    patients_hit, first_hit = np.unique(pair_ids[hit], return_index=True)
    out[np.searchsorted(unique_ids, patients_hit)] = pair_values[hit[first_hit]]
    return out


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
        # Days with a row at their own interval, the window's other minutes at its interval.
        uncovered = window_minutes - agg["covered_minutes"].to_numpy(dtype="float64")
        expected = agg["expected_covered"].to_numpy(dtype="float64") + uncovered / agg[
            "interval"
        ].to_numpy(dtype="float64")
        active = np.minimum(100.0, 100.0 * agg["slots"].to_numpy(dtype="float64") / expected)
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
    intervals, slots = _wear_many(
        group, t_all, ukeys.size, day_numbers, zones[ukeys // 10_000_000], interval_minutes
    )
    roll["interval_minutes"], roll["slots"] = intervals, slots
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
    return _day_minutes_in_zones(patient_zone[patient_codes], day_numbers)


def _wear_many(group, t, ngroups, day_numbers, group_zones, interval_minutes=None):
    """Per (patient, local day) group: interval minutes and slots, as `series.day_wear` finds
    them for one patient (or at `interval_minutes` for every day when given), vectorized."""
    if interval_minutes:
        intervals = np.full(ngroups, int(interval_minutes), dtype="int64")
    else:
        intervals = np.full(ngroups, 5, dtype="int64")
        same = group[1:] == group[:-1]
        if same.any():
            medians = pd.Series(np.diff(t)[same]).groupby(group[1:][same]).median()
            intervals[medians.index.to_numpy()] = snap_interval(medians.to_numpy())
    midnights = np.empty(ngroups, dtype="int64")
    for zone in pd.unique(group_zones):  # one zone lookup per distinct (zone, date)
        mask = group_zones == zone
        days, inverse = np.unique(day_numbers[mask], return_inverse=True)
        midnights[mask] = np.array([local_midnight_ns(int(d), zone) for d in days])[inverse]
    slot = (t - midnights[group]) // (intervals[group] * NS_PER_MINUTE)
    return intervals, distinct_slots(group, slot, ngroups)


def interval_for(times) -> int:
    """Convenience for callers building rollup frames: the detected device interval."""
    t, _ = clean_series(times, np.zeros(len(times)))
    return detect_interval(t)
