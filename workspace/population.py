"""The population view: a clinician's patients as a whole, from triage entries and rollups.

Two queries whatever the number of patients: the current triage entries of the visible
patients (GRI grid, TIR distribution, consensus targets met, cohorts) and their monthly
summaries of the last 12 months (``MonthlySummary``, one small row per patient and month,
rewritten from the rollups with the triage entry) counted per month in the database.
Consensus targets are those of Battelino et al., Diabetes Care 2019 (type 1 and type 2); the
GRI grid is the AGP report v5's (Klonoff et al., J Diabetes Sci Technol 2023):
hypoglycaemia component VLow + 0.8·Low on x, hyperglycaemia component VHigh + 0.5·High on y,
zone lines at GRI = 3·x + 1.6·y = 20, 40, 60, 80.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
from django.db import connection
from django.db.models import Aggregate, Count, FloatField, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from glycemia import display

MONTHS = 12
MIN_MONTH_READINGS = 288 * 7  # a week of 5-minute CGM before a month counts for a patient
GRI_LINES = (20, 40, 60, 80)
ZONE_COLOURS = {"A": "#2b9348", "B": "#94d82d", "C": "#fab005", "D": "#f76707", "E": "#c92a2a"}


def _g(mg_dl: float, unit: str) -> str:
    return display.glucose(mg_dl, unit, with_unit=False)


def consensus_targets(unit: str) -> list[tuple[str, str, str, float]]:
    """(key, label in the viewer's unit, comparison, threshold) — Battelino 2019, T1/T2."""
    u = unit
    return [
        ("tir", _("TIR %(lo)s–%(hi)s %(u)s > 70 %%") % {"lo": _g(70, u), "hi": _g(180, u), "u": u},
         ">", 70.0),
        ("below_70", _("< %(v)s %(u)s under 4 %%") % {"v": _g(70, u), "u": u}, "<", 4.0),
        ("below_54", _("< %(v)s %(u)s under 1 %%") % {"v": _g(54, u), "u": u}, "<", 1.0),
        ("above_180", _("> %(v)s %(u)s under 25 %%") % {"v": _g(180, u), "u": u}, "<", 25.0),
        ("above_250", _("> %(v)s %(u)s under 5 %%") % {"v": _g(250, u), "u": u}, "<", 5.0),
        ("cv", _("CV ≤ 36 %"), "<=", 36.0),
    ]  # fmt: skip


def _meets(frame: pd.DataFrame, key: str, comparison: str, threshold: float) -> pd.Series:
    values = frame[key]
    if comparison == ">":
        return values > threshold
    if comparison == "<=":
        return values <= threshold
    return values < threshold


ENTRY_FIELDS = {
    "pk": "pk",
    "name": "name",
    "diabetes_type": "diabetes_type",
    "mode": "triage__mode",
    "preset": "triage__plan_preset",
    "below_70": "triage__below_70_percent",
    "below_54": "triage__very_low_percent",
    "above_180": "triage__above_180_percent",
    "above_250": "triage__very_high_percent",
    "cv": "triage__cv_percent",
    "gri": "triage__gri",
    "zone": "triage__gri_zone",
    "hypo": "triage__gri_hypo",
    "hyper": "triage__gri_hyper",
}


def current(patients: QuerySet) -> pd.DataFrame:
    rows = list(patients.values_list(*ENTRY_FIELDS.values()))
    frame = pd.DataFrame.from_records(rows, columns=list(ENTRY_FIELDS))
    for column in ("below_70", "below_54", "above_180", "above_250", "cv", "gri", "hypo", "hyper"):
        frame[column] = pd.to_numeric(frame[column], errors="coerce")
    frame["tir"] = 100.0 - frame["below_70"] - frame["above_180"]  # the consensus 70–180
    return frame


class Median(Aggregate):
    """PostgreSQL's ``percentile_cont(0.5)``: the median, interpolated as pandas' is."""

    function = "percentile_cont"
    template = "%(function)s(0.5) WITHIN GROUP (ORDER BY %(expressions)s)"
    output_field = FloatField()


TARGET_FIELDS = {
    "tir": "in_range_percent",
    "below_70": "below_70_percent",
    "below_54": "very_low_percent",
    "above_180": "above_180_percent",
    "above_250": "very_high_percent",
    "cv": "cv_percent",
}
LOOKUPS = {">": "gt", "<": "lt", "<=": "lte"}


def monthly(patients: QuerySet, *, today: dt.date, unit: str) -> pd.DataFrame:
    """Per month of the last 12: patients with CGM, median TIR, share meeting each target.

    Counted in the database from the per-patient ``MonthlySummary`` rows (kept on write with
    the triage entries): at most 12 rows come back (on SQLite the median needs the TIRs).
    """
    from workspace.models import MonthlySummary

    first = (today.replace(day=1) - dt.timedelta(days=31 * (MONTHS - 1))).replace(day=1)
    rows = MonthlySummary.objects.filter(
        patient_id__in=patients.values("pk"),
        month__gte=first,
        month__lte=today,
        readings__gte=MIN_MONTH_READINGS,
    )
    targets = consensus_targets(unit)
    counts = {
        key: Count("pk", filter=Q(**{f"{TARGET_FIELDS[key]}__{LOOKUPS[comparison]}": threshold}))
        for key, _label, comparison, threshold in targets
    }
    if connection.vendor == "postgresql":
        counts["median_tir"] = Median("in_range_percent")
    found = list(rows.values("month").annotate(patients=Count("pk"), **counts).order_by("month"))
    if not found:
        return pd.DataFrame()
    frame = pd.DataFrame.from_records(found)
    if "median_tir" not in frame:
        tir = pd.DataFrame.from_records(
            list(rows.values_list("month", "in_range_percent")), columns=["month", "tir"]
        )
        frame["median_tir"] = frame["month"].map(tir.groupby("month")["tir"].median())
    frame["month"] = pd.to_datetime(frame["month"]).dt.strftime("%Y-%m")
    for key, *_rest in targets:
        frame[key] = 100.0 * frame[key] / frame["patients"]
    columns = ["patients", "median_tir", *(key for key, *_rest in targets)]
    return frame.set_index("month")[columns].astype(float).astype({"patients": int})


def cohorts(frame: pd.DataFrame) -> list[dict]:
    """Type 1 / type 2 / GDM, CGM / meter, plan preset: size, median TIR, share at TIR goal."""
    from patients.models import Patient

    names = {
        "diabetes_type": dict(Patient.DiabetesType.choices),
        "mode": {"cgm": _("CGM"), "meter": _("Meter only"), "none": _("No data")},
        "preset": {"standard": _("Type 1 / type 2"), "older_high_risk": _("Older / high-risk"),
                   "pregnancy_t1": _("Pregnancy"), "": _("No care plan")},
    }  # fmt: skip
    out = []
    for by, label in (("diabetes_type", _("Diabetes type")), ("mode", _("Monitoring")),
                      ("preset", _("Care plan preset"))):  # fmt: skip
        for value, group in frame.groupby(by):
            cgm = group[group["mode"] == "cgm"]
            out.append(
                {
                    "by": label,
                    "value": str(names[by].get(value, value)),
                    "patients": len(group),
                    "with_cgm": len(cgm),
                    "median_tir": None if cgm.empty else float(cgm["tir"].median()),
                    "tir_goal": None if cgm.empty else float((cgm["tir"] > 70).mean() * 100),
                    "below_goal": None if cgm.empty else float((cgm["below_70"] < 4).mean() * 100),
                    "median_gri": None if cgm.empty else float(cgm["gri"].median()),
                }
            )
    return out


def _layout(**extra) -> dict:
    return {
        "margin": {"l": 52, "r": 12, "t": 12, "b": 44},
        "font": {"family": 'system-ui, "Noto Sans CJK SC", sans-serif', "size": 12},
        "plot_bgcolor": "#fff",
        "paper_bgcolor": "#fff",
        **extra,
    }


def gri_grid(frame: pd.DataFrame) -> dict:
    """Each CGM patient a point (hypo, hyper component) over the zone lines; click → patient."""
    cgm = frame[frame["mode"] == "cgm"].dropna(subset=["hypo", "hyper"])
    x_max = max(30.0, float(cgm["hypo"].max()) * 1.05 if len(cgm) else 0)
    y_max = max(60.0, float(cgm["hyper"].max()) * 1.05 if len(cgm) else 0)
    data = []
    for zone, colour in ZONE_COLOURS.items():
        part = cgm[cgm["zone"] == zone]
        if part.empty:
            continue
        data.append(
            {
                "type": "scattergl" if len(cgm) > 1000 else "scatter",
                "mode": "markers",
                "name": _("Zone %(zone)s") % {"zone": zone},
                # GRI's precision, rounded once (glycemia.display): the hover's "%{x:.1f}"
                # then prints the page's number (pandas' round is half to even).
                "x": display.rounded_many(part["hypo"], display.GRI_DECIMALS),
                "y": display.rounded_many(part["hyper"], display.GRI_DECIMALS),
                "customdata": part["pk"].tolist(),
                "text": part["name"].tolist(),
                "marker": {"color": colour, "size": 8, "line": {"color": "#fff", "width": 0.5}},
                "hovertemplate": "%{text}<br>"
                + _("hypo %{x:.1f} · hyper %{y:.1f}")
                + "<extra>"
                + _("Zone %(zone)s") % {"zone": zone}
                + "</extra>",
            }
        )
    shapes = [
        {
            "type": "line",
            "x0": g / 3.0,
            "y0": 0,
            "x1": 0,
            "y1": g / 1.6,
            "line": {"color": "#868e96", "width": 1, "dash": "dot"},
        }
        for g in GRI_LINES
    ]
    annotations = [
        {"x": g / 6.0, "y": g / 3.2, "text": f"GRI {g}", "showarrow": False,
         "font": {"size": 10, "color": "#495057"}}
        for g in GRI_LINES
    ]  # fmt: skip
    layout = _layout(
        height=420,
        showlegend=True,
        legend={"orientation": "h", "y": -0.2},
        xaxis={"title": {"text": _("Hypoglycaemia component (%)")}, "range": [0, x_max],
               "gridcolor": "#eee"},
        yaxis={"title": {"text": _("Hyperglycaemia component (%)")}, "range": [0, y_max],
               "gridcolor": "#eee"},
        shapes=shapes,
        annotations=annotations,
    )  # fmt: skip
    return {"data": data, "layout": layout}


def tir_histogram(frame: pd.DataFrame, unit: str) -> dict:
    cgm = frame[frame["mode"] == "cgm"].dropna(subset=["tir"])
    edges = np.arange(0, 101, 10)
    counts, _edges = np.histogram(cgm["tir"].clip(0, 99.999), bins=edges)
    labels = [f"{a}–{a + 10}" for a in edges[:-1]]
    colours = ["#e5383b" if a < 50 else "#f4a259" if a < 70 else "#2b9348" for a in edges[:-1]]
    return {
        "data": [
            {
                "type": "bar",
                "x": labels,
                "y": counts.tolist(),
                "marker": {"color": colours},
                "hovertemplate": "TIR %{x} %: %{y}<extra></extra>",
            }
        ],
        "layout": _layout(
            height=300,
            showlegend=False,
            xaxis={
                "title": {
                    "text": _("Time in range %(range)s (%%)")
                    % {"range": display.glucose_range(70, 180, unit)}
                }
            },
            yaxis={"title": {"text": _("Patients")}, "gridcolor": "#eee"},
        ),
    }


def targets_met(frame: pd.DataFrame, unit: str) -> list[dict]:
    cgm = frame[frame["mode"] == "cgm"]
    out = []
    for key, label, comparison, threshold in consensus_targets(unit):
        values = cgm.dropna(subset=[key])
        met = _meets(values, key, comparison, threshold)
        out.append(
            {"key": key, "label": label, "met": int(met.sum()), "of": len(values),
             "percent": None if values.empty else float(met.mean() * 100)}
        )  # fmt: skip
    return out


def monthly_figure(months: pd.DataFrame, unit: str) -> dict:
    data = []
    if not months.empty:
        x = months.index.tolist()
        for key, label, _c, _t in consensus_targets(unit):
            data.append(
                {"type": "scatter", "mode": "lines+markers", "name": label, "x": x,
                 "y": months[key].round(1).tolist()}
            )  # fmt: skip
    return {
        "data": data,
        "layout": _layout(
            height=340,
            showlegend=True,
            legend={"orientation": "h", "y": -0.25},
            xaxis={"type": "category"},
            yaxis={
                "title": {"text": _("Patients meeting the target (%)")},
                "range": [0, 100],
                "gridcolor": "#eee",
            },
        ),  # fmt: skip
    }


def _signed(change: float | None, key: str | None, unit: str) -> str:
    """A median change as the display layer says it, with its sign: '−1.2 %', '+0.8 mmol/L'."""
    if change is None or key is None:
        return "—"
    size = (
        display.glucose(abs(change), unit)
        if key == "fasting_mg_dl"
        else display.percent(abs(change))
    )
    sign = "+" if change > 0 else "−" if change < 0 else "±"
    return f"{sign}{size}"


def suggestion_rules(patients: QuerySet, unit: str) -> list[dict]:
    """Per plan-suggestion rule (issue #21 §3): how often proposed, accepted, dismissed, and
    the median change of its target metric in the next report after acceptance."""
    from reports.outcomes import rule_summary
    from reports.suggestion_wording import METRIC_WORDS, RULE_WORDS

    # the patients as a subquery: a list of 5,000 ids cost ~50 ms to bind (#23)
    rows = rule_summary(patients.values("pk"))
    return [
        {
            **row,
            "label": str(RULE_WORDS.get(row["rule"], row["rule"])),
            "metric": str(METRIC_WORDS.get(row["key"], "")) if row["key"] else "—",
            "median_change_text": _signed(row["median_change"], row["key"], unit),
        }
        for row in rows
    ]


def population(patients: QuerySet, *, unit: str) -> dict:
    frame = current(patients)
    months = monthly(patients, today=timezone.localdate(), unit=unit)
    return {
        "patients": len(frame),
        "with_cgm": int((frame["mode"] == "cgm").sum()),
        "gri_figure": gri_grid(frame),
        "tir_figure": tir_histogram(frame, unit),
        "targets": targets_met(frame, unit),
        "months": [
            {"month": month, **{k: (None if pd.isna(v) else v) for k, v in row.items()}}
            for month, row in months.to_dict(orient="index").items()
        ],
        "month_keys": [key for key, *_rest in consensus_targets(unit)],
        "monthly_figure": monthly_figure(months, unit),
        "cohorts": cohorts(frame),
        "suggestion_rules": suggestion_rules(patients, unit),
    }
