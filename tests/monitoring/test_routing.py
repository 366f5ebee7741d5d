"""Routing and escalation, without a database: service hours across weekends, closed days and
both DST changes, the on-call rota, and the escalation chain."""

import datetime as dt
import doctest
from zoneinfo import ZoneInfo

import pytest

from monitoring import routing

LONDON = ZoneInfo("Europe/London")
NEW_YORK = ZoneInfo("America/New_York")
WEEKDAYS_8_TO_18 = {d: [(dt.time(8), dt.time(18))] for d in range(5)}


def utc(*args) -> dt.datetime:
    return dt.datetime(*args, tzinfo=dt.UTC)


def test_it_passes_its_doctests():
    assert doctest.testmod(routing).failed == 0


def test_it_routes_to_the_care_team_in_service_hours():
    monday_10 = utc(2026, 1, 5, 10)
    r = routing.recipients_at(monday_10, hours=WEEKDAYS_8_TO_18, tz=LONDON, care_team=[3, 4, 3])
    assert (r.recipients, r.reason, r.wait_until) == ((3, 4), "service_hours", None)


def test_it_treats_service_hours_as_half_open():
    opening, closing = utc(2026, 1, 5, 8), utc(2026, 1, 5, 18)
    assert routing.in_service(opening, WEEKDAYS_8_TO_18, LONDON)
    assert not routing.in_service(closing, WEEKDAYS_8_TO_18, LONDON)
    assert routing.in_service(closing - dt.timedelta(seconds=1), WEEKDAYS_8_TO_18, LONDON)


def test_it_respects_a_lunch_break_and_closed_days():
    hours = {0: [(dt.time(8), dt.time(12)), (dt.time(13), dt.time(17))]}
    lunch = utc(2026, 1, 5, 12, 30)
    r = routing.recipients_at(lunch, hours=hours, tz=LONDON, care_team=[1])
    assert (r.reason, r.wait_until) == ("wait", utc(2026, 1, 5, 13))
    holiday = routing.recipients_at(
        utc(2026, 1, 5, 9), hours=hours, tz=LONDON, care_team=[1], closed=[dt.date(2026, 1, 5)]
    )
    assert holiday.wait_until == utc(2026, 1, 12, 8)


def test_it_waits_over_the_weekend_to_the_monday_opening_across_the_spring_dst_change():
    # London springs forward on Sunday 29 March 2026: Monday 08:00 is 07:00 UTC.
    friday_evening = utc(2026, 3, 27, 18)  # 18:00 GMT: closing time
    r = routing.recipients_at(friday_evening, hours=WEEKDAYS_8_TO_18, tz=LONDON, care_team=[1])
    assert (r.recipients, r.reason, r.wait_until) == ((), "wait", utc(2026, 3, 30, 7))
    # New York springs forward on Sunday 8 March 2026: Monday 08:00 EDT is 12:00 UTC.
    r = routing.recipients_at(utc(2026, 3, 6, 23), hours=WEEKDAYS_8_TO_18, tz=NEW_YORK)
    assert r.wait_until == utc(2026, 3, 9, 12)


def test_it_waits_over_the_weekend_across_the_autumn_dst_change():
    # London falls back on Sunday 25 October 2026: Friday 18:00 BST is 17:00 UTC; Monday
    # 08:00 GMT is 08:00 UTC.
    assert routing.in_service(utc(2026, 10, 23, 16, 59), WEEKDAYS_8_TO_18, LONDON)
    r = routing.recipients_at(utc(2026, 10, 23, 17), hours=WEEKDAYS_8_TO_18, tz=LONDON)
    assert r.wait_until == utc(2026, 10, 26, 8)


def test_it_routes_out_of_hours_to_the_on_call_clinician_through_the_dst_night():
    # A shift from Saturday 18:00 GMT to Sunday 08:00 BST (07:00 UTC): 13 real hours.
    shift = (utc(2026, 3, 28, 18), utc(2026, 3, 29, 7), "dr.night")
    rota = [shift, (utc(2026, 3, 29, 7), utc(2026, 3, 29, 19), "dr.day")]
    at_0230_bst = utc(2026, 3, 29, 1, 30)
    r = routing.recipients_at(
        at_0230_bst, hours=WEEKDAYS_8_TO_18, tz=LONDON, rota=rota, care_team=[1]
    )
    assert (r.recipients, r.reason) == (("dr.night",), "on_call")
    at_0800_bst = utc(2026, 3, 29, 7)
    r = routing.recipients_at(at_0800_bst, hours=WEEKDAYS_8_TO_18, tz=LONDON, rota=rota)
    assert r.recipients == ("dr.day",)


def test_it_waits_for_the_next_shift_when_it_comes_before_the_opening():
    rota = [(utc(2026, 1, 9, 20), utc(2026, 1, 10, 8), "dr.night")]
    r = routing.recipients_at(utc(2026, 1, 9, 19), hours=WEEKDAYS_8_TO_18, tz=LONDON, rota=rota)
    assert (r.reason, r.wait_until) == ("wait", utc(2026, 1, 9, 20))


def test_it_sends_to_the_lead_when_nobody_else_can_receive():
    # Service hours but no care team and nobody on call.
    r = routing.recipients_at(utc(2026, 1, 5, 10), hours=WEEKDAYS_8_TO_18, tz=LONDON, lead="lee")
    assert (r.recipients, r.reason) == (("lee",), "lead")
    # A center with no hours and no shift ahead.
    r = routing.recipients_at(utc(2026, 1, 5, 10), hours={}, tz=LONDON, lead="lee")
    assert r.recipients == ("lee",)


def test_it_opens_hours_in_the_spring_gap_after_the_gap():
    sunday_0130 = {6: [(dt.time(1, 30), dt.time(4))]}  # 01:30 does not exist on 29 March
    periods = routing.service_periods(dt.date(2026, 3, 29), sunday_0130, LONDON)
    assert periods == [(utc(2026, 3, 29, 1, 30), utc(2026, 3, 29, 3))]  # 02:30-04:00 BST


def test_it_refuses_naive_datetimes():
    with pytest.raises(ValueError):
        routing.recipients_at(dt.datetime(2026, 1, 5, 10), hours=WEEKDAYS_8_TO_18, tz=LONDON)


# --- Escalation -----------------------------------------------------------------------------

DELIVERED = utc(2026, 3, 29, 0, 50)  # the night London moves to BST (01:00 UTC)
URGENT_DELAYS = routing.ESCALATION_MINUTES["urgent_low"]


def at(minutes):
    return DELIVERED + dt.timedelta(minutes=minutes)


@pytest.mark.parametrize(
    "now, step, next_at",
    [(0, 0, 15), (14.99, 0, 15), (15, 1, 30), (29, 1, 30), (30, 2, None), (600, 2, None)],
)
def test_it_escalates_unacknowledged_alerts_care_team_rota_lead(now, step, next_at):
    e = routing.escalation_step(DELIVERED, now=at(now), delays=URGENT_DELAYS)
    assert e.step == step and e.target == routing.ESCALATION_CHAIN[step]
    assert e.next_at == (None if next_at is None else at(next_at))


def test_it_counts_escalation_delays_in_real_time_across_the_dst_change():
    # 00:50 GMT + 15 minutes is 01:05 UTC = 02:05 BST: the clocks' jump adds nothing.
    e = routing.escalation_step(DELIVERED, now=utc(2026, 3, 29, 1, 5), delays=URGENT_DELAYS)
    assert e.step == 1
    assert e.next_at.astimezone(LONDON).isoformat() == "2026-03-29T02:20:00+01:00"


@pytest.mark.parametrize(
    "acknowledged, step",
    [(10, 0), (15, 0), (20, 1), (30, 1)],  # acknowledged at 15: before the step, tie to the ack
)
def test_it_never_escalates_after_an_acknowledgement(acknowledged, step):
    e = routing.escalation_step(
        DELIVERED, now=at(600), delays=URGENT_DELAYS, acknowledged_at=at(acknowledged)
    )
    assert (e.step, e.next_at) == (step, None)


def test_it_stops_escalating_an_alert_closed_by_recovery():
    e = routing.escalation_step(DELIVERED, now=at(600), delays=URGENT_DELAYS, closed_at=at(12))
    assert (e.step, e.next_at) == (0, None)


def test_it_escalates_to_the_next_person_on_the_rota_then_the_lead():
    now = utc(2026, 1, 9, 22)
    rota = [
        (utc(2026, 1, 9, 18), utc(2026, 1, 10, 8), "ana"),
        (utc(2026, 1, 9, 20), utc(2026, 1, 10, 8), "ben"),
        (utc(2026, 1, 10, 8), utc(2026, 1, 10, 20), "cai"),
    ]
    assert routing.escalation_recipients(1, now=now, rota=rota, notified=["ana"]) == ("ben",)
    # Everyone on call already had it: the next shift's person.
    assert routing.escalation_recipients(1, now=now, rota=rota, notified=["ana", "ben"]) == ("cai",)
    assert routing.escalation_recipients(1, now=now, rota=[], lead="lee") == ("lee",)
    assert routing.escalation_recipients(2, now=now, rota=rota, lead="lee") == ("lee",)
    assert routing.escalation_recipients(2, now=now, lead="lee", notified=["lee"]) == ()
    with pytest.raises(ValueError):
        routing.escalation_recipients(0, now=now)


def test_it_escalates_a_weekend_alert_from_the_monday_opening_it_waited_for():
    saturday = utc(2026, 3, 28, 10)
    r = routing.recipients_at(saturday, hours=WEEKDAYS_8_TO_18, tz=LONDON, care_team=[1])
    monday = r.wait_until
    assert monday == utc(2026, 3, 30, 7)
    e = routing.escalation_step(monday, now=monday + dt.timedelta(minutes=5), delays=(60, 120))
    assert (e.step, e.next_at) == (0, utc(2026, 3, 30, 8))
