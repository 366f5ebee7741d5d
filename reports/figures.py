"""Plotly figures of a report, as JSON for ``Plotly.newPlot`` (plotly.js served locally).

The figures are written directly in plotly's JSON figure format (``{"data", "layout"}``)
rather than built with ``plotly.graph_objects``: graph_objects validates every property on
assignment, which cost ~190 ms per report page (5× the rest of the request) in
``bench/reports.py``. The tests pass each figure through ``go.Figure(...)`` so plotly still
checks that every property is valid.

Figures only draw what the report stored; values are converted to the viewer's unit here.
Colours are the consensus AGP report's (Battelino 2019): very high orange-red, high orange,
in range green, low red, very low dark red.
"""

from __future__ import annotations

import json

from django.core.serializers.json import DjangoJSONEncoder
from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _

from glycemia import display
from glycemia.targets import band_rows
from glycemia.units import MMOL_L, from_mg_dl

COLOURS = {
    "very_high": "#e76f51",
    "high": "#f4a259",
    "in_range": "#2b9348",
    "low": "#e5383b",
    "very_low": "#a4161a",
}
BAND_KEYS = (
    ("very_low", "very_low_percent"),
    ("low", "low_percent"),
    ("in_range", "in_range_percent"),
    ("high", "high_percent"),
    ("very_high", "very_high_percent"),
)
CONFIG = {"displayModeBar": False, "responsive": True}
_FONT = {"family": 'system-ui, "Noto Sans CJK SC", sans-serif', "size": 12}


def band_labels() -> dict[str, str]:
    return {
        "very_low": _("Very low"),
        "low": _("Low"),
        "in_range": _("In range"),
        "high": _("High"),
        "very_high": _("Very high"),
    }


def _unit_values(values, unit: str) -> list:
    if unit != MMOL_L:
        return list(values)
    return [None if x is None else from_mg_dl(x, unit) for x in values]


def _layout(**extra) -> dict:
    return {
        "margin": {"l": 48, "r": 12, "t": 12, "b": 36},
        "font": _FONT,
        "plot_bgcolor": "#fff",
        "paper_bgcolor": "#fff",
        "showlegend": False,
        **extra,
    }


def _hours_axis() -> dict:
    return {
        "range": [0, 24],
        "tickvals": list(range(0, 25, 3)),
        "ticktext": [f"{h:02d}:00" for h in range(0, 25, 3)],
        "gridcolor": "#eee",
    }


def _target_rect(unit: str, low: float, high: float, **where) -> dict:
    return {
        "type": "rect",
        "xref": where.get("xref", "paper"),
        "yref": where.get("yref", "y"),
        "x0": where.get("x0", 0),
        "x1": where.get("x1", 1),
        "y0": from_mg_dl(low, unit),
        "y1": from_mg_dl(high, unit),
        "fillcolor": "#d8f3dc",
        "line": {"width": 0},
        "layer": "below",
    }


def report_bands(report) -> list[dict]:
    """The five bands of a report in its plan's range (``glycemia.targets.band_rows``): the
    stored metrics, completed by the goals' plan-range values for reports made before the
    metrics carried them."""
    goal_values = {g["key"]: g["value"] for g in report.goals if g.get("value") is not None}
    return band_rows({**goal_values, **report.metrics}, report.targets or {})


def tir_bar(bands: list[dict]) -> dict:
    """One stacked bar of the five bands of ``band_rows`` (the plan's own range), very low
    at the bottom; label and hover show the same rounded value (``glycemia.display``)."""
    labels = band_labels()
    data = []
    for row in reversed(bands):
        value = row["percent"] or 0.0
        text = display.percent(row["percent"])
        data.append(
            {
                "type": "bar",
                "x": [""],
                "y": [max(value, 0.6)],  # a sliver stays visible for 0 %
                "name": labels[row["band"]],
                "marker": {"color": COLOURS[row["band"]]},
                "text": [text],
                "textposition": "inside",
                "hovertemplate": f"{labels[row['band']]}: {text}<extra></extra>",
            }
        )
    layout = _layout(
        barmode="stack",
        height=320,
        width=170,
        yaxis={"visible": False, "range": [0, 103]},
        xaxis={"visible": False},
    )
    return {"data": data, "layout": layout}


def agp(metrics: dict, *, unit: str, range_low: float, range_high: float) -> dict:
    """Median, 25–75 % and 5–95 % bands over 24 h, target range shaded."""
    a = metrics.get("agp") or {}
    hours = [m / 60 for m in a.get("minutes", [])]
    if hours:  # close the day: repeat midnight at 24:00
        hours = hours + [24.0]
    curves = {k: _unit_values(a.get(k, []), unit) for k in ("p5", "p25", "p50", "p75", "p95")}
    curves = {k: v + v[:1] for k, v in curves.items()}
    data = []
    for lo, hi, alpha, name in (("p5", "p95", 0.15, "5–95 %"), ("p25", "p75", 0.35, "25–75 %")):
        data.append(
            {
                "type": "scatter",
                "x": hours,
                "y": curves[lo],
                "mode": "lines",
                "line": {"width": 0},
                "hoverinfo": "skip",
            }
        )
        data.append(
            {
                "type": "scatter",
                "x": hours,
                "y": curves[hi],
                "mode": "lines",
                "line": {"width": 0},
                "fill": "tonexty",
                "fillcolor": f"rgba(11,92,173,{alpha})",
                "name": name,
                "hoverinfo": "skip",
            }
        )
    data.append(
        {
            "type": "scatter",
            "x": hours,
            "y": curves["p50"],
            "mode": "lines",
            "line": {"color": "#0b5cad", "width": 3},
            "name": _("Median"),
            # The hover says the value as every page rounds it (glycemia.display).
            "text": [display.glucose(v, unit) for v in (a.get("p50", []) + a.get("p50", [])[:1])],
            "hovertemplate": "%{text}<extra>" + _("Median") + "</extra>",
        }
    )
    layout = _layout(
        height=320,
        xaxis=_hours_axis(),
        yaxis={"title": {"text": unit}, "gridcolor": "#eee", "rangemode": "tozero"},
        shapes=[_target_rect(unit, range_low, range_high)],
    )
    return {"data": data, "layout": layout}


def daily_profiles(metrics: dict, *, unit: str, range_low: float, range_high: float) -> dict:
    """Small multiples: one panel per day, seven per row, target range shaded.

    One figure: each row of seven days is an x/y axis pair, day d of the row drawn at
    x = 24·d + hour, separated by vertical lines.
    """
    profile = metrics.get("profile") or {"step_minutes": 15, "days": {}}
    step = profile["step_minutes"] / 60
    days = list(profile["days"].items())
    weeks = max(1, (len(days) + 6) // 7)
    top = from_mg_dl(400, unit)
    gap = 0.06
    height = (1 - gap * (weeks - 1)) / weeks
    layout = _layout(height=130 * weeks + 20)
    shapes, data = [], []
    for w in range(weeks):
        axis = "" if w == 0 else str(w + 1)
        x, y = f"x{axis}", f"y{axis}"
        y0 = 1 - (w + 1) * height - w * gap
        week = days[w * 7 : w * 7 + 7]
        layout[f"yaxis{axis}"] = {
            "domain": [y0, y0 + height],
            "range": [0, top],
            "gridcolor": "#eee",
            "anchor": x,
        }
        layout[f"xaxis{axis}"] = {
            "range": [0, 7 * 24],
            "showgrid": False,
            "anchor": y,
            "tickvals": [d * 24 + 12 for d in range(len(week))],
            "ticktext": [date[5:] for date, _v in week],
        }
        shapes += [
            {
                "type": "line",
                "x0": d * 24,
                "x1": d * 24,
                "y0": 0,
                "y1": top,
                "xref": x,
                "yref": y,
                "line": {"color": "#bbb", "width": 1},
            }
            for d in range(1, 7)
        ]
        shapes.append(_target_rect(unit, range_low, range_high, xref=x, yref=y, x1=7 * 24))
        xs, ys = [], []
        for d, (_date, values) in enumerate(week):
            xs += [d * 24 + i * step for i in range(len(values))] + [None]
            ys += _unit_values(values, unit) + [None]
        data.append(
            {
                "type": "scatter",
                "x": xs,
                "y": ys,
                "mode": "lines",
                "xaxis": x,
                "yaxis": y,
                "line": {"color": "#1b1f24", "width": 1.2},
                "connectgaps": False,
                "hoverinfo": "skip",
            }
        )
    layout["shapes"] = shapes
    return {"data": data, "layout": layout}


def meter_by_hour(metrics: dict, *, unit: str, range_low: float, range_high: float) -> dict:
    """Finger-sticks by local time of day, coloured by meal tag."""
    points = metrics.get("points") or []
    data = []
    for tag in sorted({p[2] for p in points}):
        chosen = [p for p in points if p[2] == tag]
        data.append(
            {
                "type": "scatter",
                "x": [p[0] / 60 for p in chosen],
                "y": _unit_values([p[1] for p in chosen], unit),
                "mode": "markers",
                "name": meal_tag_label(tag),
                "marker": {"size": 7},
            }
        )
    layout = _layout(
        height=300,
        showlegend=True,
        xaxis=_hours_axis(),
        yaxis={"title": {"text": unit}, "rangemode": "tozero"},
        shapes=[_target_rect(unit, range_low, range_high)],
    )
    return {"data": data, "layout": layout}


def meal_tag_label(tag: str) -> str:
    return {
        "fasting": _("Fasting"),
        "before_meal": _("Before meal"),
        "after_meal": _("After meal"),
        "bedtime": _("Bedtime"),
    }.get(tag, _("Untagged"))


def report_figures(report, *, unit: str) -> dict:
    """Every chart of the report page, as plotly JSON dicts keyed by name."""
    targets = report.targets or {}
    window = {
        "unit": unit,
        "range_low": targets.get("range_low", 70),
        "range_high": targets.get("range_high", 180),
    }
    if report.is_cgm:
        return {
            "tir": tir_bar(report_bands(report)),
            "agp": agp(report.metrics, **window),
            "daily": daily_profiles(report.metrics, **window),
        }
    return {"meter": meter_by_hour(report.metrics, **window)}


def figures_script(figures: dict, element_id: str) -> SafeString:
    """``{{ figures|json_script:element_id }}`` for the report page, ~10× cheaper.

    The figures are ~26 KB of JSON: Django's filter escapes them with ``str.translate``, which
    maps character by character in Python (~1.7 ms a page, a fifth of the template); three
    ``str.replace`` calls give the same escapes in C, and compact separators make the page
    smaller. The browser parses the same JSON; ``</script>`` inside a label still cannot end
    the element (it is written ``\\u003C/script\\u003E``).
    """
    text = json.dumps(figures, cls=DjangoJSONEncoder, separators=(",", ":"))
    text = text.replace("&", "\\u0026").replace("<", "\\u003C").replace(">", "\\u003E")
    return format_html(
        '<script id="{}" type="application/json">{}</script>', element_id, mark_safe(text)
    )
