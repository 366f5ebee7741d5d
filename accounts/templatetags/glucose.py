"""Template filters that show glucose in the viewer's unit.

``{{ value|glucose:glucose_unit }}`` → "180" or "10.0"; ``{{ glucose_unit }}`` is set by
``accounts.context_processors.preferences``.
"""

from django import template
from django.utils.formats import number_format

from glycemia.units import from_mg_dl

register = template.Library()


@register.filter
def glucose(value_mg_dl, unit="mg/dL"):
    if value_mg_dl is None or value_mg_dl == "":
        return "—"
    value = from_mg_dl(float(value_mg_dl), unit)
    decimals = 1 if unit == "mmol/L" else 0
    return number_format(value, decimal_pos=decimals)


@register.filter
def percent(value, decimals=1):
    if value is None or value == "":
        return "—"
    return number_format(float(value), decimal_pos=int(decimals)) + " %"
