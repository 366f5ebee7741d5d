"""The calendar a request may name, and the one check every page and API applies to it.

EARLIEST_DAY .. LATEST_DAY is wider than any reading can be (DESIGN §3: none before 1970) and
narrow enough that a day's local midnight, a week's span or a two-year search around it never
leaves Python's date range (years 1 .. 9999): a day view of 9999-12-31 computed the next day
and overflowed, a 500 (issue #18).

A date a request names outside it, or text that is not a date, is a bad request: ``BadDate``
is Django's ``BadRequest`` (a page answers 400) and the API's exception handler
(``common.api``) answers it 400 ``{"detail": ...}``. Dates typed into forms and
serializers (a birth date, a closed day) are checked by ``validate_day``, a field validator.

>>> parse_day("2026-03-01", "date")
datetime.date(2026, 3, 1)
>>> parse_day("9999-12-31", "date")
Traceback (most recent call last):
...
common.dates.BadDate: date must be between 1900-01-01 and 2199-12-31.
"""

import datetime as dt

from django.core.exceptions import BadRequest, ValidationError
from django.utils.translation import gettext as _

EARLIEST_DAY = dt.date(1900, 1, 1)
LATEST_DAY = dt.date(2199, 12, 31)


class BadDate(BadRequest, ValueError):
    """A date in a request that is not one, or lies outside the calendar: answered 400."""


def in_calendar(day: dt.date) -> bool:
    return EARLIEST_DAY <= day <= LATEST_DAY


def parse_day(value, name: str) -> dt.date | None:
    """``YYYY-MM-DD`` (or a date) → the date; None and "" → None; anything else BadDate."""
    if value is None or value == "":
        return None
    if isinstance(value, dt.datetime):
        day = value.date()
    elif isinstance(value, dt.date):
        day = value
    else:
        try:
            day = dt.date.fromisoformat(str(value))
        except ValueError:
            raise BadDate(
                _("%(name)s must be a date as YYYY-MM-DD, not %(value)s.")
                % {"name": name, "value": repr(str(value)[:40])}
            ) from None
    return _checked(day, name)


def parse_moment(value: str | None, name: str) -> dt.datetime | None:
    """An ISO 8601 date or date-time (``Z`` allowed) → datetime, an aware one in UTC (which
    PostgreSQL can hold: it refuses offsets beyond ±15:59); None and "" → None; else BadDate.
    """
    if value is None or value == "":
        return None
    try:
        moment = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
        if moment.tzinfo is not None:
            moment = moment.astimezone(dt.UTC)
    except (ValueError, OverflowError):
        raise BadDate(
            _("%(name)s must be an ISO 8601 date or time, not %(value)s.")
            % {"name": name, "value": repr(value[:40])}
        ) from None
    _checked(moment.date(), name)
    return moment


def _checked(day: dt.date, name: str) -> dt.date:
    if not in_calendar(day):
        raise BadDate(
            _("%(name)s must be between %(first)s and %(last)s.")
            % {"name": name, "first": EARLIEST_DAY, "last": LATEST_DAY}
        )
    return day


def validate_day(day: dt.date | None) -> None:
    """A field validator (models, forms, serializers): a date inside the calendar."""
    if day is not None and not in_calendar(day):
        raise ValidationError(
            _("Choose a date between %(first)s and %(last)s.")
            % {"first": EARLIEST_DAY.year, "last": LATEST_DAY.year},
            code="out_of_calendar",
        )
