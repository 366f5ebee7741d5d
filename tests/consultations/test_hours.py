"""Business-hours deadlines, pure: expected instants worked out by hand from the opening hours
and the published clock changes (Europe/London: 29 March and 25 October 2026 at 01:00 UTC;
America/New_York: 8 March 2026 at 07:00 UTC), never from the code."""

import datetime as dt

from consultations.hours import business_deadline, business_seconds_between

H = 3600
WEEKDAYS_9_TO_5 = {d: [(dt.time(9), dt.time(17))] for d in range(5)}


def utc(*args):
    return dt.datetime(*args, tzinfo=dt.UTC)


def test_it_counts_on_within_the_same_day():
    # Tuesday 10:00 + 3 h → 13:00.
    assert business_deadline(utc(2026, 1, 6, 10), 3 * H, WEEKDAYS_9_TO_5, "UTC") == utc(
        2026, 1, 6, 13
    )


def test_it_skips_the_weekend():
    # Friday 16:00 + 8 h: 1 h on Friday, 7 on Monday → Monday 16:00.
    assert business_deadline(utc(2026, 1, 9, 16), 8 * H, WEEKDAYS_9_TO_5, "UTC") == utc(
        2026, 1, 12, 16
    )


def test_it_starts_at_opening_when_asked_on_a_saturday():
    assert business_deadline(utc(2026, 1, 10, 11), 2 * H, WEEKDAYS_9_TO_5, "UTC") == utc(
        2026, 1, 12, 11
    )


def test_it_follows_the_spring_clock_change_across_a_weekend():
    # London, Friday 27 March 2026 16:00 GMT (= 16:00 UTC) + 8 h: 1 h Friday, 7 h Monday
    # 30 March, now BST (UTC+1): due 16:00 BST = 15:00 UTC. Naive UTC arithmetic says 16:00.
    due = business_deadline(utc(2026, 3, 27, 16), 8 * H, WEEKDAYS_9_TO_5, "Europe/London")
    assert due == utc(2026, 3, 30, 15)


def test_it_follows_the_autumn_clock_change_across_a_weekend():
    # London, Friday 23 October 2026 16:00 BST (= 15:00 UTC) + 8 h → Monday 26 October 16:00
    # GMT = 16:00 UTC.
    due = business_deadline(utc(2026, 10, 23, 15), 8 * H, WEEKDAYS_9_TO_5, "Europe/London")
    assert due == utc(2026, 10, 26, 16)


def test_it_follows_new_york_over_its_clock_change():
    # Friday 6 March 2026 16:00 EST (21:00 UTC) + 8 h → Monday 9 March 16:00 EDT = 20:00 UTC.
    due = business_deadline(utc(2026, 3, 6, 21), 8 * H, WEEKDAYS_9_TO_5, "America/New_York")
    assert due == utc(2026, 3, 9, 20)


def test_a_period_spanning_the_change_is_as_long_as_it_really_is():
    # Sunday 29 March 2026 in London, open 00:00–04:00 local: 00:00 GMT → 04:00 BST is 3 real
    # hours (00:00–03:00 UTC). 3 h from opening → closing; 4 h → the next Sunday opening + 1 h.
    week = {6: [(dt.time(0), dt.time(4))]}
    start = utc(2026, 3, 29, 0)
    assert business_deadline(start, 3 * H, week, "Europe/London") == utc(2026, 3, 29, 3)
    # Sunday 5 April 00:00 BST = Saturday 4 April 23:00 UTC; + 1 h → 00:00 UTC.
    assert business_deadline(start, 4 * H, week, "Europe/London") == utc(2026, 4, 5, 0)


def test_it_skips_closed_days_and_lunch():
    week = {d: [(dt.time(9), dt.time(12)), (dt.time(13), dt.time(17))] for d in range(5)}
    # Thursday 1 January 2026 is closed (New Year's Day); asked Wednesday 31 December 16:30:
    # 0.5 h Wednesday, Friday 09:00–12:00 (3 h), then 13:00 + 0.5 h → Friday 13:30.
    due = business_deadline(
        utc(2025, 12, 31, 16, 30), 4 * H, week, "UTC", closed=[dt.date(2026, 1, 1)]
    )
    assert due == utc(2026, 1, 2, 13, 30)


def test_a_center_without_hours_uses_weekdays_nine_to_five():
    assert business_deadline(utc(2026, 1, 9, 16), 8 * H, {}, "UTC") == utc(2026, 1, 12, 16)


def test_it_gives_up_on_a_center_never_open():
    closed = [dt.date(2026, 1, 1) + dt.timedelta(days=n) for n in range(500)]
    assert business_deadline(utc(2026, 1, 1), H, WEEKDAYS_9_TO_5, "UTC", closed) is None


def test_it_measures_business_time_between_two_instants():
    # Friday 16:00 → Monday 10:00: 1 h + 1 h.
    seconds = business_seconds_between(
        utc(2026, 1, 9, 16), utc(2026, 1, 12, 10), WEEKDAYS_9_TO_5, "UTC"
    )
    assert seconds == 2 * H
    assert business_seconds_between(utc(2026, 1, 12, 10), utc(2026, 1, 9), None, "UTC") == 0
