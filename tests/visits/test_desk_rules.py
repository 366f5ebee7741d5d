"""The front desk's pure rules (issue #19), without a database: the change window, where a
moved visit goes, closed time. Expected values are written out by hand."""

import datetime as dt
import subprocess
import sys
from pathlib import Path

import pytest

from visits.desk_rules import (
    Candidate,
    change_deadline,
    closed_spans,
    earliest_patient_start,
    overlaps_any,
    patient_may_change,
    pick_move_target,
    prompt_to_book,
)

ROOT = Path(__file__).resolve().parents[2]


def utc(*args) -> dt.datetime:
    return dt.datetime(*args, tzinfo=dt.UTC)


def test_it_imports_no_django():
    code = "import sys, visits.desk_rules; assert not [m for m in sys.modules if 'django' in m]"
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True)


def test_it_allows_a_change_until_exactly_the_window():
    start = utc(2027, 3, 2, 9)
    assert change_deadline(start, 24) == utc(2027, 3, 1, 9)
    assert patient_may_change(start, utc(2027, 3, 1, 9), 24)
    assert not patient_may_change(start, utc(2027, 3, 1, 9, 0, 1), 24)
    assert patient_may_change(start, utc(2027, 3, 2, 8, 59), 0)
    assert not patient_may_change(start, utc(2027, 3, 2, 9, 1), 0)


def test_it_counts_the_window_in_real_hours_across_a_clock_change():
    # London springs forward on 28 March 2027 (01:00 GMT → 02:00 BST): 24 real hours before
    # 10:00 BST on the 29th (09:00 UTC) is 09:00 UTC on the 28th, 10:00 BST, not 10:00 GMT.
    start = utc(2027, 3, 29, 9)
    assert change_deadline(start, 24) == utc(2027, 3, 28, 9)


def test_it_refuses_a_negative_window():
    with pytest.raises(ValueError):
        patient_may_change(utc(2027, 3, 2), utc(2027, 3, 1), -1)


def test_it_starts_patient_bookings_after_the_window():
    assert earliest_patient_start(utc(2027, 3, 1, 10), 24) == utc(2027, 3, 2, 10)


def test_it_keeps_the_clinician_when_they_have_a_free_slot_even_a_later_one():
    own_late = Candidate(utc(2027, 3, 9, 9), 1)
    other_soon = Candidate(utc(2027, 3, 2, 9), 2)
    own_later = Candidate(utc(2027, 3, 10, 9), 1)
    assert pick_move_target([other_soon, own_later, own_late], same_clinician=1) == own_late


def test_it_moves_to_the_earliest_other_clinician_when_the_own_has_none():
    a = Candidate(utc(2027, 3, 3, 9), 2)
    b = Candidate(utc(2027, 3, 2, 14), 3)
    assert pick_move_target([a, b], same_clinician=1) == b
    assert pick_move_target([a, b], same_clinician=1, other_allowed=False) is None
    assert pick_move_target([], same_clinician=1) is None


def test_it_gives_a_closed_day_whole_and_leave_by_its_hours():
    day = utc(2027, 3, 1)
    end = utc(2027, 3, 2)
    assert closed_spans(day, end, whole_day=True) == [(day, end)]
    leave = [
        (utc(2027, 3, 1, 13), utc(2027, 3, 1, 15)),
        (utc(2027, 2, 28, 9), utc(2027, 2, 28, 10)),
    ]
    assert closed_spans(day, end, blocked=leave) == [(utc(2027, 3, 1, 13), utc(2027, 3, 1, 15))]


def test_it_treats_periods_as_half_open():
    spans = [(utc(2027, 3, 1, 13), utc(2027, 3, 1, 15))]
    assert not overlaps_any(utc(2027, 3, 1, 12, 30), utc(2027, 3, 1, 13), spans)
    assert overlaps_any(utc(2027, 3, 1, 14, 45), utc(2027, 3, 1, 15, 15), spans)
    assert not overlaps_any(utc(2027, 3, 1, 15), utc(2027, 3, 1, 15, 30), spans)


def test_it_prompts_to_book_when_due_soon_or_overdue_and_nothing_booked():
    today = dt.date(2027, 3, 1)
    assert prompt_to_book(dt.date(2027, 1, 30), today, has_next_visit=False, horizon_days=14)
    assert prompt_to_book(dt.date(2027, 3, 15), today, has_next_visit=False, horizon_days=14)
    assert not prompt_to_book(dt.date(2027, 3, 16), today, has_next_visit=False, horizon_days=14)
    assert not prompt_to_book(dt.date(2027, 1, 30), today, has_next_visit=True, horizon_days=14)
    assert not prompt_to_book(None, today, has_next_visit=False, horizon_days=14)
