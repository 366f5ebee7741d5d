"""Template filters that show glucose in the viewer's unit.

``{{ value|glucose:glucose_unit }}`` → "180" or "10.0"; ``{{ glucose_unit }}`` is set by
``accounts.context_processors.preferences``. ``percent``, ``gri``, ``per_day``: the other
clinical numbers. Templates never ``floatformat`` a clinical value.

Both round with ``glycemia.display`` (half away from zero, never truncated), the one rule the
PDF, exports and comparisons use too.
"""

from django import template

from glycemia import display

register = template.Library()


@register.filter
def glucose(value_mg_dl, unit="mg/dL"):
    """The number in ``unit`` (name the unit beside it): 123.5 -> "124", 180 -> "10.0"."""
    if value_mg_dl is None or value_mg_dl == "":
        return display.DASH
    return display.glucose(float(value_mg_dl), unit, with_unit=False)


@register.filter
def glucose_unit_text(value_mg_dl, unit="mg/dL"):
    """The value with its unit: "124 mg/dL", "6.9 mmol/L"."""
    if value_mg_dl is None or value_mg_dl == "":
        return display.DASH
    return display.glucose(float(value_mg_dl), unit)


@register.filter
def percent(value, decimals=1):
    """A clinical percentage, "4.1 %" (``display.percent``: 1 decimal, the one precision of
    every page); ``decimals`` only for non-clinical shares, such as % of patients."""
    if value is None or value == "":
        return display.DASH
    decimals = int(decimals)
    if decimals == display.PERCENT_DECIMALS:
        return display.percent(float(value))
    return f"{display.rounded(float(value), decimals):.{decimals}f} %"


@register.filter
def percent_number(value):
    """The percentage without its sign, for a sentence that writes "%" itself: "4.1"."""
    if value is None or value == "":
        return display.DASH
    return display.percent(float(value), sign=False)


@register.filter
def gri(value):
    """The Glycemia Risk Index as every page shows it: "9.8" (1 decimal)."""
    if value is None or value == "":
        return display.DASH
    return display.gri(float(value))


@register.filter
def per_day(value):
    """Finger-sticks a day: "3.6"."""
    if value is None or value == "":
        return display.DASH
    return display.per_day(float(value))
