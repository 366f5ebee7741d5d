"""Triage wording: flag labels and explanations in the viewer's unit, data age, query links."""

import datetime as dt
from urllib.parse import urlencode

from django import template
from django.template.defaultfilters import floatformat
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts import display as display_layer
from glycemia import display
from workspace import ranking

register = template.Library()


def _g(value_mg_dl: float, unit: str) -> str:
    # glycemia.display rounds half away from zero; number_format truncated (54 mg/dL = 2.997
    # mmol/L read "2.9").
    return display.glucose(float(value_mg_dl), unit)


@register.simple_tag
def flag_label(flag: str, entry=None, unit: str = "mg/dL") -> str:
    """Short label of a triage flag, with the patient's own thresholds in the viewer's unit.

    Without an entry (the filter list) the consensus limits are named.
    """
    low = getattr(entry, "range_low", None) or 70
    high = getattr(entry, "range_high", None) or 180
    if flag == ranking.FLAG_VERY_LOW:
        return _("Level 2 low (< %(v)s)") % {"v": _g(54, unit)}
    if flag == ranking.FLAG_LOW:
        return _("Low (< %(v)s)") % {"v": _g(low, unit)}
    if flag == ranking.FLAG_METER_HIGH:
        return _("Meter mean > %(v)s") % {"v": _g(high, unit)}
    label = _FIXED_LABELS.get(flag)
    return str(label) if label is not None else flag


_FIXED_LABELS = {
    ranking.FLAG_NO_DATA: gettext_lazy("No data for 3+ days"),
    ranking.FLAG_TIR_DROP: gettext_lazy("TIR fell ≥ 10 points"),
    ranking.FLAG_GRI_HIGH: gettext_lazy("GRI zone D/E"),
    ranking.FLAG_HIGH: gettext_lazy("TIR below goal"),
    ranking.FLAG_VARIABLE: gettext_lazy("CV above goal"),
    ranking.FLAG_LOW_WEAR: gettext_lazy("CGM wear < 70 %"),
    ranking.FLAG_METER_ADHERENCE: gettext_lazy("Too few finger-sticks"),
    ranking.FLAG_METER: gettext_lazy("Meter only"),
    ranking.FLAG_REVIEW: gettext_lazy("Plan review overdue"),
    ranking.FLAG_VISIT: gettext_lazy("Visit overdue"),
}


@register.simple_tag
def flag_explanation(flag: str, entry, unit: str, limits: dict) -> str:
    """One sentence per flag for the overview: the value, the goal, what it means. Every
    number as the tables beside it show it (``glycemia.display``, rounded once)."""
    low, high = entry.range_low, entry.range_high
    pct = display.percent
    meter = entry.mode == "meter"
    if flag == ranking.FLAG_VERY_LOW:
        value = entry.meter_very_low_percent if meter else entry.very_low_percent
        return _(
            "Level 2 hypoglycaemia: %(value)s of readings below %(limit)s; the goal is "
            "%(cmp)s %(goal)s %%."
        ) % {
            "value": pct(value),
            "limit": _g(54, unit),
            "cmp": limits["very_low"][0],
            "goal": floatformat(limits["very_low"][1], -1),
        }
    if flag == ranking.FLAG_LOW:
        value = entry.meter_below_percent if meter else entry.below_percent
        return _(
            "Hypoglycaemia: %(value)s of readings below %(limit)s; the goal is %(cmp)s %(goal)s %%."
        ) % {
            "value": pct(value),
            "limit": _g(low, unit),
            "cmp": limits["below"][0],
            "goal": floatformat(limits["below"][1], -1),
        }
    if flag == ranking.FLAG_NO_DATA:
        if entry.last_reading_at is None:
            return _("No glucose readings have arrived.")
        zone = entry.patient.timezone  # the patient's clock, named (accounts.display)
        when = display_layer.when_text(entry.last_reading_at, zone)
        return _("No readings since %(when)s: ask whether the device is worn and uploading.") % {
            "when": f"{when} ({zone})"
        }
    if flag == ranking.FLAG_TIR_DROP:
        return _("Time in range fell from %(before)s to %(now)s against the previous 14 days.") % {
            "before": pct(entry.tir_previous),
            "now": pct(entry.in_range_percent),
        }
    if flag == ranking.FLAG_GRI_HIGH:
        return _("Glycemia Risk Index %(gri)s, zone %(zone)s: among the highest-risk fifth.") % {
            "gri": display.gri(entry.gri),
            "zone": entry.gri_zone,
        }
    if flag == ranking.FLAG_METER_HIGH:
        return _(
            "Finger-stick mean %(mean)s is above the target range's upper limit %(limit)s."
        ) % {"mean": _g(entry.meter_mean_mg_dl, unit), "limit": _g(high, unit)}
    if flag == ranking.FLAG_HIGH:
        return _(
            "Time in range %(low)s–%(high)s is %(value)s; the goal is %(cmp)s %(goal)s %%."
        ) % {
            "low": _g(low, unit),
            "high": _g(high, unit),
            "value": pct(entry.in_range_percent),
            "cmp": limits["in_range"][0],
            "goal": floatformat(limits["in_range"][1], -1),
        }
    if flag == ranking.FLAG_VARIABLE:
        return _("Glucose variability (CV) is %(value)s; the goal is %(cmp)s %(goal)s %%.") % {
            "value": pct(entry.cv_percent),
            "cmp": limits["cv"][0],
            "goal": floatformat(limits["cv"][1], -1),
        }
    if flag == ranking.FLAG_LOW_WEAR:
        return _("The CGM was active %(value)s of the time; 14-day figures need ≥ 70 %%.") % {
            "value": pct(entry.active_percent)
        }
    if flag == ranking.FLAG_METER_ADHERENCE:
        return _("%(n)s finger-sticks a day, %(pct)s of what the care plan asks.") % {
            "n": display.per_day(entry.meter_per_day),
            "pct": pct(entry.meter_adherence_percent),
        }
    if flag == ranking.FLAG_METER:
        return _("Finger-stick readings only: CGM figures cannot be computed.")
    if flag == ranking.FLAG_REVIEW:
        return _("The care plan was due for review on %(date)s.") % {"date": entry.plan_review_due}
    if flag == ranking.FLAG_VISIT:
        return _("The follow-up visit is overdue.")
    return flag


@register.filter
def data_age(when, now=None) -> str:
    """Time since ``when`` in one short unit: "25 min", "5 h", "3 d"; "—" for never."""
    if when is None:
        return "—"
    seconds = ((now or timezone.now()) - when).total_seconds()
    if seconds < 3600:
        return _("%(n)d min") % {"n": max(0, seconds // 60)}
    if seconds < 2 * 86400:
        return _("%(n)d h") % {"n": seconds // 3600}
    return _("%(n)d d") % {"n": seconds // 86400}


@register.filter
def signed(value, decimals=1) -> str:
    """A change with its sign, rounded once (``glycemia.display.signed``): "+4.2", "±0.0"."""
    if value is None or value == "":
        return display.DASH
    return display.signed(float(value), int(decimals))


@register.simple_tag
def query_string(query, **override) -> str:
    """``?…`` for a link that keeps the current filters and changes some of them."""
    return "?" + urlencode(query.as_params(**override))


@register.filter
def older_than_days(when, days) -> bool:
    return when is not None and when < timezone.now() - dt.timedelta(days=int(days))


@register.simple_tag
def figures_json(figure: dict | None, element_id: str):
    """A plotly figure as a JSON script element for ``static/js/figures.js``."""
    from reports.figures import figures_script

    return figures_script(figure or {"data": [], "layout": {}}, element_id)


@register.filter
def local_time(when, zone: str) -> str:
    """``when`` in the patient's zone in the language's one date format (the page names the
    zone beside it): ``accounts.display.when_text``."""
    return display_layer.when_text(when, zone)
