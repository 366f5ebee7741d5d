"""Differential tests (#23): hypo- and hyperglycaemia events against the frozen previous
implementation (`events_before`, main 8a517f1) on seeded random traces around the 54 / 70 /
250 thresholds, with 1/5/15-minute spacing, jitter and gaps."""

import numpy as np

from glycemia.events import event_timeline, glycemic_events, hyper_events, hypo_events

from . import events_before


def _trace(rng):
    interval = int(rng.choice([1, 5, 15]))
    n = int(rng.integers(1, 2000))
    d = np.full(n - 1, interval * 60) + rng.integers(-30, 30, n - 1)
    gaps = rng.integers(0, max(1, n - 1), int(rng.integers(0, 8)))
    d[gaps] = rng.integers(10 * 60, 4 * 3600, gaps.size)
    t = (np.datetime64("2024-05-01T00:00", "s").astype("int64") + np.cumsum(np.r_[0, d])) * 10**9
    level = rng.choice([45.0, 60.0, 80.0, 240.0, 300.0], n)
    v = np.round(np.repeat(level[: n // 10 + 1], 10)[:n] + rng.normal(0, 12, n))
    return interval, t.astype("int64"), v


def test_events_equal_the_previous_implementation_on_random_traces():
    rng = np.random.default_rng(8)
    found = 0
    for _ in range(600):
        interval, t, v = _trace(rng)
        old_hypo = events_before.hypo_events(t, v, interval)
        old_hyper = events_before.hyper_events(t, v, interval)
        assert hypo_events(t, v, interval) == old_hypo
        assert hyper_events(t, v, interval) == old_hyper
        timeline = event_timeline(t, interval)
        assert hypo_events(t, v, interval, timeline) == old_hypo
        assert hyper_events(t, v, interval, timeline) == old_hyper
        # cgm_metrics: both kinds from the stacked masks
        assert glycemic_events(t, v, interval, v.min(), v.max()) == (old_hypo, old_hyper)
        found += len(old_hypo) + len(old_hyper)
    assert found > 1000
