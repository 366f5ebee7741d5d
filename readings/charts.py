"""The patient workspace's glucose chart, drawn with plotly's Python API.

Values are shown in the viewer's unit (``glycemia.units.from_mg_dl``); the consensus target
range is shaded; treatments are markers along the top.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import plotly.graph_objects as go
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from glycemia.constants import HIGH_ABOVE, LOW_BELOW
from glycemia.units import MMOL_L, from_mg_dl
from readings.models import Reading, Treatment

CHART_DAYS = 14
TREATMENT_SYMBOLS = {"insulin_rapid": "triangle-down", "insulin_long": "diamond", "carbs": "circle"}


def glucose_figure(patient, unit: str) -> str | None:
    """Plotly figure JSON of the last 14 days of CGM (meter readings if no CGM), or None."""
    readings = Reading.objects.filter(patient=patient)
    kind = "cgm" if readings.filter(kind="cgm").exists() else "smbg"
    latest = readings.filter(kind=kind).order_by("-timestamp").values_list("timestamp", flat=True)
    if not latest:
        return None
    end = latest[0]
    start = end - dt.timedelta(days=CHART_DAYS)
    rows = list(
        readings.filter(kind=kind, timestamp__gt=start)
        .order_by("timestamp")
        .values_list("timestamp", "value_mg_dl")
    )
    zone = patient.timezone
    times = [t.astimezone(_zone(zone)).replace(tzinfo=None) for t, _v in rows]
    values = from_mg_dl(np.array([v for _t, v in rows], dtype="float64"), unit)
    low, high = from_mg_dl(LOW_BELOW, unit), from_mg_dl(HIGH_ABOVE, unit)
    top = float(max(values.max(), from_mg_dl(300, unit)))
    fig = go.Figure()
    fig.add_hrect(
        y0=low,
        y1=high,
        fillcolor="#2b9348",
        opacity=0.12,
        line_width=0,
        annotation_text=_("target range"),
        annotation_position="top left",
    )
    fig.add_trace(
        go.Scattergl(
            x=times,
            y=values,
            mode="lines+markers" if kind == "cgm" else "markers",
            marker={"size": 3 if kind == "cgm" else 7},
            line={"width": 1.2, "color": "#0b5cad"},
            name=_("CGM") if kind == "cgm" else _("Meter"),
        )
    )
    treatments = Treatment.objects.filter(
        patient=patient, timestamp__gt=start, timestamp__lte=end, kind__in=TREATMENT_SYMBOLS
    ).values_list("timestamp", "kind", "amount")
    by_kind: dict[str, list] = {}
    for t, kind_name, amount in treatments:
        by_kind.setdefault(kind_name, []).append((t.astimezone(_zone(zone)), amount))
    labels = dict(Treatment.Kind.choices)
    for kind_name, points in by_kind.items():
        fig.add_trace(
            go.Scatter(
                x=[t.replace(tzinfo=None) for t, _a in points],
                y=[top] * len(points),
                mode="markers",
                marker={"symbol": TREATMENT_SYMBOLS[kind_name], "size": 9},
                name=str(labels[kind_name]),
                text=[f"{a:g}" if a is not None else "" for _t, a in points],
                hovertemplate="%{x}<br>%{text}<extra>" + str(labels[kind_name]) + "</extra>",
            )
        )
    fig.update_layout(
        height=320,
        margin={"l": 40, "r": 10, "t": 10, "b": 30},
        yaxis_title=unit,
        yaxis_range=[0, top * 1.05],
        legend={"orientation": "h", "y": -0.2},
        template="plotly_white",
    )
    if unit == MMOL_L:
        fig.update_yaxes(tickformat=".1f")
    if (get_language() or "").startswith("zh"):  # plotly.js has no Chinese month names loaded
        fig.update_xaxes(tickformat="%-m月%-d日")
    return fig.to_json()


def _zone(name: str):
    from zoneinfo import ZoneInfo

    return ZoneInfo(name)
