"""The patient workspace's data: overview (metrics against the plan's goals, AGP, TIR bar,
flags) and the day view (CGM, finger-sticks and treatments of one local day or week).

Every read is bounded: the overview reads the last 14 local days of CGM with one indexed
query (``readings.windows.readings_arrays``), the day view one day or week of readings and
treatments. Figures are plotly JSON dicts (as in ``reports.figures``), values in the viewer's
unit, the plan's own target range shaded.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo

import numpy as np
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts import display as display_layer
from care_plans.services import care_plan_current, targets_of_version
from glycemia import display
from glycemia.agp import agp
from glycemia.metrics import cgm_metrics
from glycemia.targets import band_rows, evaluate_metrics, range_percents
from glycemia.units import from_mg_dl
from patients.models import Patient
from readings.models import Reading, Treatment
from readings.windows import readings_arrays
from reports import figures
from reports.models import Report
from workspace import ranking
from workspace.models import TriageEntry

OVERVIEW_DAYS = 14
DAY_SPANS = (1, 7)
TREATMENT_SYMBOLS = {
    "insulin_rapid": ("triangle-down", "#6741d9"),
    "insulin_long": ("diamond", "#1864ab"),
    "carbs": ("circle", "#e67700"),
    "exercise": ("square", "#2b8a3e"),
}


def local_today(patient: Patient, now: dt.datetime | None = None) -> dt.date:
    return timezone.localdate(now or timezone.now(), patient.tzinfo)


def overview(patient: Patient, *, unit: str) -> dict:
    """Everything the Overview tab shows, in a constant number of queries."""
    today = local_today(patient)
    start = today - dt.timedelta(days=OVERVIEW_DAYS - 1)
    version = care_plan_current(patient=patient)
    targets = targets_of_version(version, patient=patient)
    times, values = readings_arrays(patient, "cgm", start, today)
    metrics = None
    goals = []
    agp_figure = tir_figure = None
    if len(values):
        metrics = cgm_metrics(
            times.astype("datetime64[ns]"),
            values,
            tz=patient.timezone,
            start=start,
            end=today,
            full=False,
            exact=True,  # rounded once, on the page (glycemia.display), as the report is
        )
        metrics["agp"] = agp(times.astype("datetime64[ns]"), values, tz=patient.timezone)
        low, high = targets.get("range_low", 70), targets.get("range_high", 180)
        metrics.update(range_percents(values, low, high))
        goals = display_layer.goal_rows(
            evaluate_metrics(metrics, targets, values=values), targets, unit
        )
        window = {
            "unit": unit,
            "range_low": targets.get("range_low", 70),
            "range_high": targets.get("range_high", 180),
        }
        agp_figure = figures.agp(metrics, **window)
        tir_figure = figures.tir_bar(band_rows(metrics, targets))
    entry = TriageEntry.objects.filter(pk=patient.pk).select_related("reviewed_by").first()
    report = (
        Report.objects.filter(patient=patient)
        .order_by("-created_at", "-pk")
        .only("pk", "period_start", "period_end", "kind", "created_at")
        .first()
    )
    return {
        "window": (start, today),
        "targets": targets,
        "limits": ranking.thresholds(targets),
        "plan": version,
        "metrics": metrics,
        "goals": goals,
        "agp_figure": agp_figure,
        "tir_figure": tir_figure,
        "entry": entry,
        "report": report,
    }


def day_window(patient: Patient, day: dt.date, span: int) -> tuple[dt.datetime, dt.datetime]:
    zone = zoneinfo.ZoneInfo(patient.timezone)
    first = dt.datetime.combine(day - dt.timedelta(days=span - 1), dt.time.min, zone)
    after = dt.datetime.combine(day + dt.timedelta(days=1), dt.time.min, zone)
    return first, after


def day_readings(patient: Patient, day: dt.date, span: int):
    """Readings of the window (for the table), newest first, with their device."""
    first, after = day_window(patient, day, span)
    return (
        Reading.objects.filter(patient=patient, timestamp__gte=first, timestamp__lt=after)
        .filter(Q(kind="cgm") | Q(kind="smbg"))
        .select_related("device")
        .only("timestamp", "value_mg_dl", "kind", "flag", "meal_tag", "device__identity")
        .order_by("-timestamp")
    )


def day_figure(patient: Patient, day: dt.date, span: int, *, unit: str, targets: dict) -> dict:
    """CGM line, finger-stick dots and treatment markers of the window, on one chart."""
    first, after = day_window(patient, day, span)
    zone = zoneinfo.ZoneInfo(patient.timezone)
    rows = list(
        Reading.objects.filter(
            patient=patient, kind__in=("cgm", "smbg"), timestamp__gte=first, timestamp__lt=after
        )
        .order_by("timestamp")
        .values_list("timestamp", "value_mg_dl", "kind")
    )
    treatments = list(
        Treatment.objects.filter(patient=patient, timestamp__gte=first, timestamp__lt=after)
        .order_by("timestamp")
        .values_list("timestamp", "kind", "amount", "text")
    )

    def local(t: dt.datetime) -> str:
        return t.astimezone(zone).strftime("%Y-%m-%d %H:%M:%S")

    data = []
    top = from_mg_dl(300.0, unit)
    for kind, name, mode in (("cgm", _("CGM"), "lines"), ("smbg", _("Finger-stick"), "markers")):
        points = [(t, v) for t, v, k in rows if k == kind]
        if not points:
            continue
        # Rounded once, half away from zero (glycemia.display), and shown with the unit's
        # decimals: "6.0 mmol/L", not plotly's "6".
        ys = [display.glucose_value(v, unit) for _t, v in points]
        top = max(top, max(ys))
        shown = f"%{{y:.{display.glucose_decimals(unit)}f}} {unit}"
        trace = {
            "type": "scatter",
            "mode": mode,
            "name": name,
            "x": [local(t) for t, _v in points],
            "y": ys,
            "hovertemplate": "%{x|%H:%M}  " + shown + "<extra>" + name + "</extra>",
        }
        if kind == "cgm":
            trace["line"] = {"color": "#0b5cad", "width": 1.6}
            trace["connectgaps"] = False
        else:
            trace["marker"] = {"color": "#c92a2a", "size": 9, "line": {"color": "#fff", "width": 1}}
        data.append(trace)
    labels = dict(Treatment.Kind.choices)
    by_kind: dict[str, list] = {}
    for t, kind, amount, text in treatments:
        by_kind.setdefault(kind, []).append((t, amount, text))
    for kind, points in by_kind.items():
        symbol, colour = TREATMENT_SYMBOLS.get(kind, ("x", "#495057"))
        name = str(labels.get(kind, kind))
        data.append(
            {
                "type": "scatter",
                "mode": "markers",
                "name": name,
                "x": [local(t) for t, _a, _x in points],
                "y": [top * 1.04] * len(points),
                "marker": {"symbol": symbol, "size": 10, "color": colour},
                "text": [
                    ("" if a is None else f"{a:g}") + (f" {x}" if x else "") for _t, a, x in points
                ],
                "hovertemplate": "%{x|%H:%M}  %{text}<extra>" + name + "</extra>",
            }
        )
    low = targets.get("range_low", 70)
    high = targets.get("range_high", 180)
    layout = figures._layout(
        height=340,
        showlegend=True,
        legend={"orientation": "h", "y": -0.18},
        xaxis={
            "range": [local(first), local(after)],
            "gridcolor": "#eee",
            "tickformat": "%H:%M" if span == 1 else "%m-%d",
        },
        yaxis={"title": {"text": unit}, "gridcolor": "#eee", "range": [0, float(top) * 1.1]},
        shapes=[figures._target_rect(unit, low, high)],
    )
    return {"data": data, "layout": layout, "empty": not rows and not treatments}


def _treatment_text(amount: float | None, text: str) -> str:
    return ("" if amount is None else f"{amount:g}") + (f" {text}" if text else "")


def day_summary(values: np.ndarray) -> dict | None:
    if not len(values):
        return None
    return {"n": int(len(values)), "mean": float(np.mean(values))}


VISIT_HISTORY = 50


def visits_tab(patient: Patient, *, now: dt.datetime | None = None) -> dict:
    """The Visits tab: open visits still ahead (soonest first) and the last 50 others (newest
    first), with whether the follow-up is overdue (the view adds the zone to show them in)."""
    from visits.models import Visit
    from visits.services import follow_up_due

    now = now or timezone.now()
    rows = Visit.objects.filter(patient=patient).select_related("visit_type", "clinician", "room")
    is_open = Q(status__in=[Visit.Status.BOOKED, Visit.Status.CHECKED_IN], end_at__gte=now)
    follow_up = follow_up_due(patient)
    from care_plans.services import checks_due
    from visits.services import last_checks_done

    results = results_history(patient)
    done = last_checks_done([patient.pk]).get(patient.pk, {})
    return {
        # The plan's checks, each due from the date it was last done or had a result recorded.
        "checks_due": [
            {**row, "last_done": done.get(row["key"])} for row in checks_due(patient, done)
        ],
        "upcoming": list(rows.filter(is_open).order_by("start_at")),
        "history": list(rows.exclude(is_open).order_by("-start_at")[:VISIT_HISTORY]),
        "visit_overdue": follow_up["overdue"],
        "visit_due": follow_up["due"],
        "results": list(reversed(results)),  # newest first in the table
        "results_figure": hba1c_gmi_figure(results, gmi_points(patient)),
    }


def results_history(patient: Patient) -> list[dict]:
    from visits.services import results_history as history

    return history(patient)


def gmi_points(patient: Patient) -> list[tuple[dt.date, float]]:
    """(period end, GMI %) of each stored CGM report, oldest first: the GMI the clinician
    read at the time (reports are immutable), beside the laboratory HbA1c."""
    points = []
    for end, metrics in (
        Report.objects.filter(patient=patient)
        .order_by("period_end", "pk")
        .values_list("period_end", "metrics")
    ):
        gmi = (metrics or {}).get("gmi_percent")
        if gmi is not None:
            points.append((end, float(gmi)))
    return points


def hba1c_gmi_figure(results: list[dict], gmi: list[tuple[dt.date, float]]) -> dict | None:
    """Laboratory HbA1c (at each visit) beside GMI (from each report's CGM), both in %, on
    one time axis: their gap matters clinically (a GMI well below HbA1c, or above it, changes
    how either is read — Bergenstal et al., Diabetes Care 2018). None when neither exists."""
    hba1c = [(r["date"], float(r["hba1c_percent"])) for r in results if r["hba1c_percent"]]
    if not hba1c and not gmi:
        return None
    data = [
        {
            "type": "scatter",
            "mode": "lines+markers",
            "name": _("HbA1c (laboratory)"),
            "x": [d.isoformat() for d, _v in hba1c],
            "y": [v for _d, v in hba1c],
            "marker": {"size": 9, "color": "#a4161a"},
            "line": {"color": "#a4161a"},
            "hovertemplate": "%{x}: %{y:.1f} %<extra>HbA1c</extra>",
        },
        {
            "type": "scatter",
            "mode": "lines+markers",
            "name": _("GMI (from CGM)"),
            "x": [d.isoformat() for d, _v in gmi],
            "y": [round(v, 1) for _d, v in gmi],
            "marker": {"size": 6, "color": "#1864ab", "symbol": "diamond"},
            "line": {"color": "#1864ab", "dash": "dot"},
            "hovertemplate": "%{x}: %{y:.1f} %<extra>GMI</extra>",
        },
    ]
    layout = {
        "margin": {"l": 48, "r": 12, "t": 12, "b": 36},
        "plot_bgcolor": "#fff",
        "paper_bgcolor": "#fff",
        "showlegend": True,
        "legend": {"orientation": "h", "y": -0.2},
        "yaxis": {"title": {"text": "%"}, "ticksuffix": " %"},
        "xaxis": {"type": "date"},
    }
    return {"data": data, "layout": layout}
