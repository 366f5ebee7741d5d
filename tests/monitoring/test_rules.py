"""The remote-monitoring rules, without a database: every rule and boundary by hand, the AR2
forecast against hand-worked values and real device traces, the xDrip-like scenario of
issue #20 §6 (routing and escalation: test_routing.py)."""

import doctest
import math
import random
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from glycemia.targets import PRESETS
from monitoring import rules
from monitoring.rules import Episode, Thresholds
from readings.parsers import Reading, parse

DEVICES = Path(__file__).resolve().parents[1] / "fixtures" / "devices"
MIN = 60.0
T0 = 1_800_000_000.0  # 2027-01-15 08:00 UTC: any fixed instant; the rules never read a clock


def every_5_minutes(values, start=T0):
    """(times, values) of readings 5 minutes apart from ``start``."""
    return [start + 5 * MIN * i for i in range(len(values))], list(values)


class Store:
    """What the monitoring app will do with the answers: keep episodes, apply actions."""

    def __init__(self):
        self.episodes: dict[int, Episode] = {}
        self.log: list[tuple[str, str, float]] = []  # (action, kind, at)

    def known(self, now, thresholds=rules.DEFAULT_THRESHOLDS):
        since = now - rules.evaluation_window_seconds(thresholds)
        return [e for e in self.episodes.values() if e.is_open or e.span_end >= since]

    def save(self, episode):
        key = episode.id if episode.id is not None else len(self.episodes) + 1
        self.episodes[key] = replace(episode, id=key)

    def apply(self, evaluation, now):
        for action in evaluation.actions:
            self.save(action.episode)
            self.log.append((action.action, action.episode.kind, now))
        for episode in evaluation.past:
            self.save(episode)
            self.log.append(("past", episode.kind, now))
        for kind in rules.KINDS:
            assert sum(e.is_open for e in self.episodes.values() if e.kind == kind) <= 1

    def of(self, kind):
        return sorted((e for e in self.episodes.values() if e.kind == kind), key=lambda e: e.since)


def replay(times, values, low=None, *, first=1, store=None, **kwargs):
    """Post readings one at a time (each evaluated when it arrives) into a store."""
    store = store or Store()
    for i in range(first, len(times) + 1):
        now = times[i - 1]
        marks = None if low is None else low[:i]
        ev = rules.evaluate(
            times[:i], values[:i], marks, now=now, episodes=store.known(now), **kwargs
        )
        store.apply(ev, now)
    return store


def actions(evaluation):
    return [(a.action, a.episode.kind) for a in evaluation.actions]


def urgent(evaluation):
    """The urgent-low actions (a fall towards 54 also predicts a low: tested on its own)."""
    return [a for a in evaluation.actions if a.episode.kind == "urgent_low"]


def run(times, values, low=None, *, now=None, **kwargs):
    now = max(times) if now is None else now
    return rules.evaluate(times, values, low, now=now, **kwargs)


def test_it_passes_its_doctests():
    assert doctest.testmod(rules).failed == 0


# --- Thresholds -----------------------------------------------------------------------------


def test_it_defaults_to_the_consensus_thresholds():
    th = rules.thresholds_for_plan({"preset": "standard", **PRESETS["standard"]})
    assert (th.urgent_low_mg_dl, th.high_mg_dl, th.high_minutes, th.no_data_hours) == (
        54,
        250,
        120,
        4,
    )
    assert rules.thresholds_for_plan(None) == rules.DEFAULT_THRESHOLDS


def test_it_alerts_highs_above_180_on_pregnancy_plans():
    pregnancy = {"preset": "pregnancy_t1", **PRESETS["pregnancy_t1"]}
    assert rules.thresholds_for_plan(pregnancy).high_mg_dl == 180
    custom_tight = {"preset": "custom", "range_low": 63, "range_high": 140}
    assert rules.thresholds_for_plan(custom_tight).high_mg_dl == 180
    custom_wide = {"preset": "custom", "range_low": 70, "range_high": 160}
    assert rules.thresholds_for_plan(custom_wide).high_mg_dl == 250
    older = {"preset": "older_high_risk", **PRESETS["older_high_risk"]}
    assert rules.thresholds_for_plan(older).high_mg_dl == 250


def test_it_takes_the_clinicians_thresholds_over_the_plans():
    th = rules.thresholds_for_plan(
        {"preset": "pregnancy_t1"},
        {"urgent_low_mg_dl": 60, "high_mg_dl": 200, "high_minutes": 60, "no_data_hours": None},
    )
    assert (th.urgent_low_mg_dl, th.high_mg_dl, th.high_minutes, th.no_data_hours) == (
        60,
        200,
        60,
        4,
    )


@pytest.mark.parametrize(
    "overrides",
    [
        {"urgent_low_mg_dl": 20},
        {"urgent_low_mg_dl": "54"},
        {"high_mg_dl": True},
        {"high_mg_dl": float("nan")},
        {"high_minutes": 10_000},
        {"no_data_hours": 0},
        {"snooze": 5},
    ],
)
def test_it_refuses_thresholds_out_of_bounds_or_not_numbers(overrides):
    with pytest.raises(ValueError, match=next(iter(overrides))):
        rules.thresholds_for_plan({"preset": "standard"}, overrides)


def test_it_asks_for_a_window_as_long_as_the_longest_rule_plus_a_margin():
    assert rules.evaluation_window_seconds() == 4.5 * 3600
    assert rules.evaluation_window_seconds(Thresholds(no_data_hours=8)) == 8.5 * 3600
    assert rules.evaluation_window_seconds(Thresholds(high_minutes=600)) == 10.5 * 3600


def test_it_ignores_readings_older_than_the_window():
    times, values = every_5_minutes([50, 50])
    now = times[-1] + rules.evaluation_window_seconds() + 1
    assert run(times, values, now=now).actions == []


def test_it_reads_unsorted_duplicated_and_garbage_readings_alike():
    times, values = every_5_minutes([90, 70, 60, 52, 50, 48])
    clean = run(times, values)
    shuffled = list(zip(times, values, strict=True)) * 2 + [(math.nan, 40), (T0, math.inf)]
    random.Random(20).shuffle(shuffled)
    messy = run([t for t, _ in shuffled], [v for _, v in shuffled], now=times[-1])
    assert messy == clean
    with pytest.raises(ValueError):
        rules.evaluate([T0, T0 + 300], [50], now=T0)


# --- Urgent low -----------------------------------------------------------------------------


def test_it_opens_an_urgent_low_on_the_second_consecutive_reading_below_54():
    times, values = every_5_minutes([60, 53])
    assert urgent(run(times, values)) == []
    times, values = every_5_minutes([60, 53, 50])
    (action,) = urgent(run(times, values))
    assert action.action == "open"
    e = action.episode
    assert (e.kind, e.since, e.opened_at, e.last_value, e.extreme) == (
        "urgent_low",
        T0 + 5 * MIN,
        T0 + 10 * MIN,
        50,
        50,
    )


def test_it_does_not_count_exactly_54_as_urgent():
    times, values = every_5_minutes([54, 54, 54])
    assert run(times, values).actions == []
    times, values = every_5_minutes([54, 53.9, 53.9])
    assert actions(run(times, values)) == [("open", "urgent_low")]


def test_it_needs_the_two_readings_below_54_to_be_consecutive():
    # 20 minutes apart: a gap longer than the longest CGM interval breaks the pair.
    assert run([T0, T0 + 20 * MIN], [50, 50]).actions == []
    assert actions(run([T0, T0 + 15 * MIN], [50, 50])) == [("open", "urgent_low")]
    # A reading of 54 or more between them breaks it too.
    times, values = every_5_minutes([50, 55, 50])
    assert urgent(run(times, values)) == []


def test_it_opens_on_a_single_low_marker():
    times, values = every_5_minutes([80, 40])
    (action,) = run(times, values, [False, True]).actions  # a marker gives no forecast
    assert (action.action, action.episode.kind, action.episode.opened_at) == (
        "open",
        "urgent_low",
        T0 + 5 * MIN,
    )
    # The same value without the marker is one reading below 54: no urgent low yet.
    assert urgent(run(times, values)) == []


def test_it_closes_an_urgent_low_after_exactly_15_minutes_back_at_70_or_more():
    times, values = every_5_minutes([50, 50, 70, 75, 80, 85])
    store = replay(times[:5], values[:5], first=2)  # 70, 75, 80: 10 minutes seen
    assert store.of("urgent_low")[0].is_open
    store = replay(times, values, first=6, store=store)  # 85: 15 minutes
    (episode,) = store.of("urgent_low")
    # Ended at the first reading back (the consensus end), confirmed 15 minutes later.
    assert (episode.ended_at, episode.closed_at, episode.reason) == (
        T0 + 10 * MIN,
        T0 + 25 * MIN,
        "recovered",
    )


def test_it_restarts_the_recovery_when_glucose_dips_below_70_again():
    times, values = every_5_minutes([50, 50, 80, 80, 69, 80, 80, 80, 80])
    store = replay(times, values, first=2)
    (episode,) = store.of("urgent_low")
    assert episode.ended_at == T0 + 25 * MIN and episode.closed_at == T0 + 40 * MIN


def test_it_keeps_an_urgent_low_open_while_glucose_stays_between_54_and_70():
    times, values = every_5_minutes([50, 50] + [65] * 20)
    store = replay(times, values, first=2)
    (episode,) = store.of("urgent_low")
    assert episode.is_open and episode.last_value == 65 and episode.extreme == 50
    assert store.log.count(("open", "urgent_low", times[1])) == 1


def test_it_needs_the_recovery_to_be_seen_without_a_gap():
    # 80 at 10 minutes, then nothing until 30 and 35: a 20-minute gap, not 15 minutes *seen*.
    store = Store()
    times = [T0, T0 + 5 * MIN, T0 + 10 * MIN, T0 + 30 * MIN, T0 + 35 * MIN]
    values = [50, 50, 80, 80, 80]
    store.apply(run(times, values), times[-1])
    assert store.of("urgent_low")[0].is_open


# --- AR2 forecast ---------------------------------------------------------------------------


def by_hand(previous, current, steps=4):
    """AR2 as Nightscout documents it, written out: y = ln(bg / 140), 5-minute steps."""
    y = [math.log(previous / 140), math.log(current / 140)]
    for _ in range(steps):
        y.append(-0.723 * y[-2] + 1.716 * y[-1])
    return [140 * math.exp(x) for x in y[2:]]


def test_it_forecasts_as_the_hand_worked_ar2():
    # 100 then 90 five minutes later: ln(100/140) = -0.33647, ln(90/140) = -0.44183;
    # next = -0.723 * -0.33647 + 1.716 * -0.44183 = -0.51492 -> 140 * e^-0.51492 = 83.66.
    assert rules.ar2_forecast(100, 90, 1)[0] == pytest.approx(83.657, abs=1e-3)
    assert rules.ar2_forecast(100, 90) == pytest.approx(by_hand(100, 90), rel=1e-12)
    # Flat stays flat only at the 140 centre: the model pulls towards it.
    assert rules.ar2_forecast(140, 140) == pytest.approx([140] * 4)
    assert rules.ar2_forecast(100, 100)[3] > 100


def test_it_predicts_a_low_when_the_forecast_reaches_54_within_20_minutes():
    # 79 then 68: by hand 61.3, 57.2, 54.8 and 53.4 at +20 minutes (<= 54, the last point).
    # 78 then 68: 61.9, 58.1, 55.9, 54.7 (never <= 54).
    assert by_hand(79, 68)[3] == pytest.approx(53.446, abs=1e-3) and by_hand(79, 68)[2] > 54
    assert min(by_hand(78, 68)) == pytest.approx(54.727, abs=1e-3)
    assert rules.predicted_low_mask([T0, T0 + 300], [79, 68]).tolist() == [False, True]
    assert rules.predicted_low_mask([T0, T0 + 300], [78, 68]).tolist() == [False, False]
    assert actions(run([T0, T0 + 300], [79, 68])) == [("open", "predicted_low")]
    assert run([T0, T0 + 300], [78, 68]).actions == []
    # A slow fall far below the 140 centre turns back towards it: 57 then 55 gives 53.95,
    # 53.56, 53.64 and 54.06 at +20 minutes: <= 54 within 20 minutes, if not at 20.
    assert by_hand(57, 55)[0] < 54 < by_hand(57, 55)[3]
    assert rules.predicted_low_mask([T0, T0 + 300], [57, 55]).tolist() == [False, True]


@pytest.mark.parametrize(
    "gap, forecast",
    [
        (4.5 * MIN, True),
        (5 * MIN, True),
        (5.5 * MIN, True),
        (5.5 * MIN + 1, False),
        (6 * MIN, False),
    ],
)
def test_it_forecasts_only_from_readings_at_most_5_minutes_apart(gap, forecast):
    f = rules.ar2_forecasts([T0, T0 + gap], [79, 68])
    assert (not np.isnan(f[1, 0])) == forecast
    ev = run([T0, T0 + gap], [79, 68])
    assert actions(ev) == ([("open", "predicted_low")] if forecast else [])


def test_it_gives_no_forecast_from_a_low_marker():
    f = rules.ar2_forecasts([T0, T0 + 300], [60, 40], [False, True])
    assert np.isnan(f).all()


def cgm(path):
    items = parse(DEVICES / path).items()
    readings = sorted(
        (x for x in items if isinstance(x, Reading) and x.kind == "cgm"),
        key=lambda x: x.timestamp,
    )
    t = np.array([x.timestamp.timestamp() for x in readings])
    v = np.array([x.value_mg_dl for x in readings])
    low = np.array([x.flag == "low" for x in readings])
    marker = np.array([x.flag != "" for x in readings])
    return t, v, low, marker


def previous_by_hand(t, i):
    """The reading used as "5 minutes before" reading i, by a plain backwards walk."""
    for j in range(i - 1, -1, -1):
        if t[i] - t[j] >= 270:
            return j if t[i] - t[j] <= 330 else None
    return None


@pytest.mark.parametrize(
    "path",
    [
        "dexcom_clarity/cgmquantify__test_file.csv",
        "nightscout/cgm_format__nightscout_entries.json",
    ],
)
def test_it_forecasts_real_traces_as_the_hand_formula(path):
    t, v, _, marker = cgm(path)
    forecasts = rules.ar2_forecasts(t, v, marker)
    picked = 0
    for i in range(0, t.size, 37):
        j = previous_by_hand(t, i)
        if j is None or marker[i] or marker[j]:
            assert np.isnan(forecasts[i]).all()
            continue
        assert forecasts[i] == pytest.approx(by_hand(v[j], v[i]), rel=1e-9)
        picked += 1
    assert picked > 15
    # After the longest gap of the trace there is no forecast.
    after_gap = int(np.argmax(np.diff(t))) + 1
    assert np.isnan(forecasts[after_gap]).all()


def test_it_pairs_1_minute_readings_5_minutes_apart():
    # The Nightscout sample has 1-minute stretches: the pair is 5 readings back, not 1.
    t, v, _, marker = cgm("nightscout/cgm_format__nightscout_entries.json")
    steps = np.diff(t)
    i = next(k for k in range(5, t.size) if (steps[k - 5 : k] <= 62).all())
    j = previous_by_hand(t, i)
    assert i - j >= 4 and 270 <= t[i] - t[j] <= 330
    assert rules.ar2_forecasts(t, v, marker)[i] == pytest.approx(by_hand(v[j], v[i]))


@pytest.mark.parametrize(
    "path",
    [
        "dexcom_clarity/cgmquantify__test_file.csv",
        "dexcom_clarity/sugar-sugar__example.csv",
        "nightscout/cgm_format__nightscout_entries.json",
        "tidepool/sensotrend-converter__data_tandem_cbg.json",
    ],
)
def test_it_forecasts_20_minutes_ahead_better_than_no_change_on_real_traces(path):
    t, v, _, marker = cgm(path)
    at_20 = rules.ar2_forecasts(t, v, marker)[:, 3]
    later = np.searchsorted(t, t + 20 * MIN - 60)
    ok = ~np.isnan(at_20) & (later < t.size)
    ok[ok] &= np.abs(t[later[ok]] - (t[ok] + 20 * MIN)) <= 60  # an actual reading then
    assert ok.sum() > 500
    actual = v[later[ok]]
    ar2_error = np.abs(at_20[ok] - actual)
    still_error = np.abs(v[ok] - actual)
    assert np.median(ar2_error) < 10
    assert np.percentile(ar2_error, 90) < np.percentile(still_error, 90)


# --- Predicted low --------------------------------------------------------------------------


def test_it_supersedes_the_predicted_low_when_the_urgent_low_opens():
    times, values = every_5_minutes([100, 88, 76, 64, 53, 50])
    store = replay(times, values, first=1)
    (predicted,) = store.of("predicted_low")
    (urgent,) = store.of("urgent_low")
    assert predicted.opened_at < urgent.opened_at == T0 + 25 * MIN
    assert (predicted.closed_at, predicted.reason) == (urgent.opened_at, "superseded")
    # Closed first, then opened, in the one evaluation.
    assert store.log[-2:] == [
        ("close", "predicted_low", times[-1]),
        ("open", "urgent_low", times[-1]),
    ]


def test_it_opens_no_predicted_low_while_an_urgent_low_is_open():
    urgent = Episode(
        "urgent_low",
        since=T0 - 20 * MIN,
        opened_at=T0 - 15 * MIN,
        last_at=T0 - 5 * MIN,
        last_value=50,
        extreme=48,
    )
    times, values = every_5_minutes([62, 56], start=T0 - 5 * MIN)  # falling: forecast < 54
    assert rules.predicted_low_mask(times, values)[-1]
    ev = run(times, values, episodes=[urgent])
    assert actions(ev) == [("update", "urgent_low")]


def test_it_closes_a_predicted_low_when_the_fall_stops():
    # 86 then 70: by hand 60.6, 54.9, 51.5, 49.5: a predicted low at 10 minutes.
    assert min(by_hand(86, 70)) < 54
    times, values = every_5_minutes([100, 86, 70, 72, 74, 76, 78])
    store = replay(times, values)
    (predicted,) = store.of("predicted_low")
    assert predicted.opened_at == T0 + 10 * MIN
    # 72 at 15 minutes is the first reading >= 70 with no forecast <= 54; 15 minutes later it
    # is closed.
    assert (predicted.ended_at, predicted.closed_at) == (T0 + 15 * MIN, T0 + 30 * MIN)
    assert store.of("urgent_low") == []


# --- High -----------------------------------------------------------------------------------


def test_it_opens_a_high_after_exactly_2_hours_above_250():
    times, values = every_5_minutes([251] * 24)  # 0 .. 115 minutes
    assert run(times, values).actions == []
    times, values = every_5_minutes([251] * 25)  # 0 .. 120 minutes
    (action,) = run(times, values).actions
    e = action.episode
    assert (action.action, e.kind, e.since, e.opened_at) == ("open", "high", T0, T0 + 120 * MIN)


def test_it_does_not_count_exactly_250_as_high():
    times, values = every_5_minutes([250] * 40)
    assert run(times, values).actions == []


def test_it_restarts_the_high_run_after_a_gap_or_a_reading_in_range():
    times, values = every_5_minutes([300] * 25)
    del times[10], values[10]  # a 10-minute gap: still consecutive
    assert actions(run(times, values)) == [("open", "high")]
    times, values = every_5_minutes([300] * 25)
    times = times[:10] + [x + 15 * MIN for x in times[10:]]  # a 20-minute gap
    assert run(times, values).actions == []
    times, values = every_5_minutes([300] * 12 + [250] + [300] * 12)
    assert run(times, values).actions == []


def test_it_uses_the_plans_high_threshold():
    pregnancy = rules.thresholds_for_plan({"preset": "pregnancy_t1"})
    times, values = every_5_minutes([190] * 25)
    assert run(times, values).actions == []
    assert actions(run(times, values, thresholds=pregnancy)) == [("open", "high")]


def test_it_closes_a_high_after_15_minutes_at_or_below_the_threshold():
    times, values = every_5_minutes([300] * 25 + [250, 240, 230, 220])
    store = replay(times, values, first=24)
    (high,) = store.of("high")
    assert (high.ended_at, high.closed_at, high.extreme) == (
        T0 + 125 * MIN,
        T0 + 140 * MIN,
        300,
    )


# --- No data --------------------------------------------------------------------------------


def test_it_opens_no_data_after_exactly_4_hours_of_silence():
    times, values = [T0], [120]
    assert run(times, values, now=T0 + 4 * 3600 - 1, enrolled_at=T0 - 3600).actions == []
    (action,) = run(times, values, now=T0 + 4 * 3600, enrolled_at=T0 - 3600).actions
    assert action.action == "open"
    assert (action.episode.kind, action.episode.since, action.episode.opened_at) == (
        "no_data",
        T0,
        T0 + 4 * 3600,
    )


def test_it_counts_the_silence_from_the_enrolment():
    now = T0 + 3 * 3600
    assert run([], [], now=now, enrolled_at=T0).actions == []
    assert run([], [], now=now).actions == []  # not enrolled: no no-data rule
    (action,) = run([], [], now=T0 + 4 * 3600, enrolled_at=T0).actions
    assert action.episode.opened_at == T0 + 4 * 3600
    # Enrolled long ago, nothing in the window: the silence began before it.
    (action,) = run([], [], now=T0 + 100 * 3600, enrolled_at=T0).actions
    assert (action.episode.since, action.episode.opened_at) == (None, T0 + 100 * 3600)


def test_it_closes_no_data_when_a_reading_arrives_and_only_then():
    silence = Episode("no_data", since=T0, opened_at=T0 + 4 * 3600)
    now = T0 + 6 * 3600
    assert run([T0], [120], now=now, episodes=[silence]).actions == []
    # A late reading from inside the silence, which still lasts 4 hours: nothing.
    late = run([T0, T0 + 1800], [120, 121], now=now, episodes=[silence], enrolled_at=T0)
    assert late.actions == []
    (action,) = run([T0, now], [120, 118], now=now, episodes=[silence], enrolled_at=T0).actions
    assert action.action == "close"
    assert (action.episode.ended_at, action.episode.reason) == (now, "data")


# --- Episodes, not readings -----------------------------------------------------------------


def test_it_answers_nothing_new_for_the_same_readings_again():
    store = Store()
    times, values = every_5_minutes([90, 70, 60, 52, 50, 48])
    store.apply(run(times, values), times[-1])
    assert [e.kind for e in store.episodes.values()] == ["urgent_low"]
    assert run(times, values, episodes=store.known(times[-1])).actions == []
    assert run(times * 3, values * 3, now=times[-1], episodes=store.known(times[-1])).actions == []


def test_it_refuses_two_open_episodes_of_one_kind():
    open_ = Episode("high", since=T0, opened_at=T0 + 7200)
    with pytest.raises(ValueError, match="two open high"):
        run([T0], [300], episodes=[open_, replace(open_, id=2)])


def test_it_never_opens_a_second_episode_for_late_readings_of_a_closed_one():
    times, values = every_5_minutes([50, 50, 60, 80, 80, 80, 80, 90])
    store = replay(times, values, first=2)
    (episode,) = store.of("urgent_low")
    assert episode.closed_at == T0 + 30 * MIN
    # Readings between the ones we had arrive late (an uploader catching up), one of them low.
    late_t = times + [T0 + 2.5 * MIN, T0 + 7.5 * MIN, T0 + 12.5 * MIN]
    late_v = values + [45, 44, 52]
    ev = run(late_t, late_v, now=times[-1], episodes=store.known(times[-1]))
    assert ev.actions == [] and ev.past == []
    # Late readings just before it show it began earlier: still the same episode.
    earlier = run(
        [T0 - 10 * MIN, T0 - 5 * MIN, *times],
        [49, 48, *values],
        now=times[-1],
        episodes=store.known(times[-1]),
    )
    assert earlier.actions == [] and earlier.past == []


def test_it_opens_a_new_episode_after_a_recovered_one():
    times, values = every_5_minutes([50, 50, 80, 80, 80, 80, 70, 60, 50, 50])
    store = replay(times, values, first=2)
    first, second = store.of("urgent_low")
    assert first.closed_at == T0 + 25 * MIN and second.is_open
    assert second.opened_at == T0 + 45 * MIN


def test_it_keeps_an_open_episode_that_began_before_the_window():
    window = rules.evaluation_window_seconds()
    started = T0 - window - 3600  # low for over 5 hours: begun long before the window
    open_ = Episode(
        "urgent_low",
        since=started,
        opened_at=started + 300,
        last_at=T0 - 300,
        last_value=50,
        extreme=45,
        id=1,
    )
    times, values = every_5_minutes([52, 51], start=T0 - 300)
    (action,) = run(times, values, episodes=[open_]).actions
    assert (action.action, action.episode.id, action.episode.last_value) == ("update", 1, 51)
    assert action.episode.since == started and action.episode.extreme == 45


# --- Back-filled history --------------------------------------------------------------------


def test_it_reports_back_filled_episodes_as_past_never_as_alerts():
    # A file of last month: outside the live window, found by past_episodes.
    month_ago = T0 - 30 * 86400
    times, values = every_5_minutes([90, 50, 50, 60, 75, 75, 75, 75] + [260] * 30, start=month_ago)
    assert run(times, values, now=T0).actions == []
    found = rules.past_episodes(times, values)
    assert [(e.kind, e.since, e.ended_at, e.live) for e in found] == [
        ("urgent_low", month_ago + 5 * MIN, month_ago + 20 * MIN, False),
        ("high", month_ago + 40 * MIN, None, False),  # still high when the file ends
    ]
    # Importing the same file again finds nothing new.
    assert rules.past_episodes(times, values, episodes=found) == []


def test_it_brings_a_past_episode_up_to_date_when_a_later_file_continues_it():
    month_ago = T0 - 30 * 86400
    # High from 0 to 145 minutes with a 5-minute dip to 240 at 125 (too short to end it).
    times, values = every_5_minutes([260] * 25 + [240] + [260] * 4 + [200] * 4, start=month_ago)
    store = Store()
    for found in rules.past_episodes(times[:28], values[:28]):  # file 1 ends while high
        store.save(found)
    (first,) = store.of("high")
    assert (first.since, first.opened_at, first.closed_at) == (month_ago, month_ago + 7200, None)
    # File 2 holds only what follows (its high run alone is 30 minutes): the same record,
    # now ended at the first reading <= 250 for 15 minutes.
    (update,) = rules.past_episodes(times[28:], values[28:], episodes=store.known(month_ago))
    assert update.id == first.id and update.since == month_ago
    assert (update.ended_at, update.closed_at) == (month_ago + 150 * MIN, month_ago + 165 * MIN)
    store.save(update)
    # Importing either file again, or both, finds nothing new.
    for part in (slice(0, 28), slice(28, None), slice(None)):
        known = list(store.episodes.values())
        assert rules.past_episodes(times[part], values[part], episodes=known) == []


def test_it_alerts_at_once_when_live_data_continues_a_past_episode():
    # A backlog of 40-minute-old readings, high for 3 hours: a past episode, not an alert.
    times, values = every_5_minutes([300] * 37, start=T0 - 3 * 3600)
    now = times[-1] + 40 * MIN
    store = Store()
    store.apply(run(times, values, now=now), now)
    (past,) = store.of("high")
    assert not past.live and past.closed_at is None
    # The next live reading is still high: that episode is an alert now, not in 2 hours.
    times, values = times + [now], values + [310]
    ev = run(times, values, now=now, episodes=store.known(now))
    assert [(a.action, a.episode.id, a.episode.live) for a in ev.actions] == [
        ("open", past.id, True)
    ]
    store.apply(ev, now)
    assert run(times, values, now=now, episodes=store.known(now)).actions == []


def test_it_opens_nothing_for_readings_older_than_the_live_horizon():
    # An uploader delivers 40-minute-old readings of a low that was still going on then.
    times, values = every_5_minutes([90, 52, 50, 48])
    now = times[-1] + 40 * MIN
    ev = run(times, values, now=now)
    assert ev.actions == []
    assert [(e.kind, e.closed_at, e.live) for e in ev.past] == [("urgent_low", None, False)]
    # Within the horizon (a setting), the same readings open an alert.
    assert actions(run(times, values, now=now, thresholds=Thresholds(live_minutes=45))) == [
        ("open", "urgent_low")
    ]


def test_it_reports_a_low_already_over_when_it_arrives_as_past():
    times, values = every_5_minutes([52, 50, 75, 75, 75, 75])
    ev = run(times, values)
    assert ev.actions == []
    assert [(e.kind, e.reason) for e in ev.past] == [("urgent_low", "recovered")]


def test_it_alerts_a_low_still_going_on_when_a_backlog_arrives():
    # Offline for 2 hours while low, then everything at once: the low is live now.
    times, values = every_5_minutes([50] * 25)
    (action,) = run(times, values).actions
    assert (action.action, action.episode.opened_at) == ("open", T0 + 5 * MIN)


# --- Issue #20 §6: the xDrip-like uploader, at the pure level --------------------------------

FALLING = [
    150,
    138,
    126,
    114,
    102,
    92,
    83,
    75,
    68,
    61,
    55,
    50,
    46,
    44,
    45,
    49,
    56,
    64,
    72,
    78,
    84,
    90,
    95,
    99,
    103,
    106,
]


def test_it_raises_one_urgent_low_after_a_predicted_low_and_closes_it_after_recovery():
    store = Store()
    times, values = every_5_minutes(FALLING)
    for i in range(1, len(times) + 1):
        now = times[i - 1] + 20  # posted 20 s after the reading
        window = [t >= now - rules.evaluation_window_seconds() for t in times[:i]]
        ts = [t for t, w in zip(times[:i], window, strict=True) if w]
        vs = [v for v, w in zip(values[:i], window, strict=True) if w]
        store.apply(rules.evaluate(ts, vs, now=now, episodes=store.known(now)), now)
    (urgent,) = store.of("urgent_low")
    (predicted,) = store.of("predicted_low")
    assert predicted.opened_at < urgent.opened_at
    assert predicted.reason == "superseded"
    assert urgent.opened_at == times[FALLING.index(46)]  # 55 is not below 54; 50 and 46 are
    assert urgent.extreme == 44
    assert (urgent.ended_at, urgent.closed_at) == (
        times[FALLING.index(72)],
        times[FALLING.index(72)] + 15 * MIN,
    )
    assert [x[:2] for x in store.log if x[0] != "update"] == [
        ("open", "predicted_low"),
        ("close", "predicted_low"),
        ("open", "urgent_low"),
        ("close", "urgent_low"),
    ]
    # Posting the same entries again, one at a time or all at once: nothing changes.
    now = times[-1] + 60
    for i in range(1, len(times) + 1):
        ev = rules.evaluate(times[:i], values[:i], now=now, episodes=store.known(now))
        assert ev.actions == [] and ev.past == []
    assert (
        rules.evaluate(times[::-1] * 2, values[::-1] * 2, now=now, episodes=store.known(now))
        == rules.Evaluation()
    )


def test_it_raises_one_urgent_low_when_entries_arrive_out_of_order():
    store = Store()
    times, values = every_5_minutes(FALLING)
    order = list(range(len(times)))
    for k in range(0, len(order) - 1, 3):  # swap neighbours: 1 0 2 4 3 5 ...
        order[k], order[k + 1] = order[k + 1], order[k]
    seen = []
    for n in order:
        seen.append(n)
        now = max(times[k] for k in seen) + 20
        ev = rules.evaluate(
            [times[k] for k in seen], [values[k] for k in seen], now=now, episodes=store.known(now)
        )
        store.apply(ev, now)
    assert len(store.of("urgent_low")) == 1 and not store.of("urgent_low")[0].is_open
    assert len(store.of("predicted_low")) == 1


@pytest.mark.parametrize(
    "path", ["dexcom_clarity/sugar-sugar__example.csv", "dexcom_clarity/cgmquantify__test_file.csv"]
)
def test_it_finds_the_same_episodes_replayed_live_as_in_one_pass(path):
    t, v, low, _ = cgm(path)
    window = rules.evaluation_window_seconds()
    store = Store()
    for i in range(t.size):
        now = float(t[i])
        first = int(np.searchsorted(t, now - window))
        ev = rules.evaluate(
            t[first : i + 1],
            v[first : i + 1],
            low[first : i + 1],
            now=now,
            episodes=store.known(now),
            enrolled_at=float(t[0]),
        )
        store.apply(ev, now)
    live = sorted(
        (e.kind, e.since, e.opened_at, e.ended_at, e.closed_at)
        for e in store.episodes.values()
        if e.kind in rules.PAST_KINDS
    )
    one_pass = sorted(
        (e.kind, e.since, e.opened_at, e.ended_at, e.closed_at)
        for e in rules.past_episodes(t, v, low)
    )
    assert live == one_pass and len(live) >= 2
    assert all(e.live for e in store.episodes.values())  # replayed live: every one an alert
