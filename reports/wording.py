"""Words of a report in the reader's language and unit: patterns, goals, metric names.

Reports store findings as ``{"code", "params", "text"}``; ``text`` is English for the API and
the words here re-say them with gettext so the page and the PDF follow the reader's language.
"""

from __future__ import annotations

from django.utils.translation import gettext as _

from glycemia.units import from_mg_dl


def glucose_text(mg_dl: float, unit: str) -> str:
    value = from_mg_dl(mg_dl, unit)
    return f"{value:.1f} {unit}" if unit == "mmol/L" else f"{value:.0f} {unit}"


def pattern_text(finding: dict, unit: str = "mg/dL") -> str:
    p = finding.get("params", {})
    code = finding.get("code")
    if code == "nocturnal_lows":
        return _(
            "Lows below %(threshold)s on %(n)s of %(nights)s nights, mostly %(from)s–%(to)s."
        ) % {
            "threshold": glucose_text(p["threshold_mg_dl"], unit),
            "n": p["nights_with_lows"],
            "nights": p["nights"],
            "from": p["from"],
            "to": p["to"],
        }
    if code == "breakfast_rise":
        return _(
            "Rise after breakfast on most days (%(n)s of %(days)s): median rise %(rise)s "
            "between 06:00 and 10:00."
        ) % {
            "n": p["days_with_rise"],
            "days": p["days"],
            "rise": glucose_text(p["median_rise_mg_dl"], unit),
        }
    if code == "high_variability":
        return _("High glucose variability: CV %(cv)s %% (goal ≤ 36 %%).") % {"cv": p["cv_percent"]}
    if code == "insufficient_data":
        return _("Insufficient data: %(active)s %% active over %(days)s days.") % {
            "active": p["active_percent"] if p["active_percent"] is not None else "—",
            "days": p["days"],
        }
    if code == "hypo_cluster":
        return _("Hypoglycaemia clustered at %(from)s–%(to)s: %(n)s of %(events)s events.") % {
            "from": p["from"],
            "to": p["to"],
            "n": p["events_in_block"],
            "events": p["events"],
        }
    if code == "few_meter_readings":
        return _("Few finger-stick readings: %(n)s a day.") % {"n": p["readings_per_day"]}
    if code == "meter_lows":
        return _("%(n)s finger-stick readings below %(threshold)s.") % {
            "n": p["below_70"],
            "threshold": glucose_text(70, unit),
        }
    return finding.get("text", "")


def goal_label(goal: dict, targets: dict, unit: str) -> str:
    """'Time in range (TIR) 70–180 mg/dL' in the reader's unit and language."""
    low = glucose_text(targets.get("range_low", 70), unit)
    high = glucose_text(targets.get("range_high", 180), unit)
    key = goal["key"]
    labels = {
        "in_target_percent": _("Time in range (TIR) %(range)s") % {"range": f"{low}–{high}"},
        "below_70_percent": _("Time below range (TBR) < %(v)s") % {"v": glucose_text(70, unit)},
        "below_target_percent": _("Time below range (TBR) < %(v)s") % {"v": low},
        "very_low_percent": _("Time below range (TBR) < %(v)s") % {"v": glucose_text(54, unit)},
        "above_180_percent": _("Time above range (TAR) > %(v)s") % {"v": glucose_text(180, unit)},
        "above_target_percent": _("Time above range (TAR) > %(v)s") % {"v": high},
        "very_high_percent": _("Time above range (TAR) > %(v)s") % {"v": glucose_text(250, unit)},
        "cv_percent": _("Coefficient of variation (CV)"),
    }
    if key == "in_range_percent":
        labels[key] = _("Time in range (TIR) %(range)s") % {
            "range": f"{glucose_text(70, unit).split()[0]}–{glucose_text(180, unit)}"
        }
    return labels.get(key, goal.get("label", key))


def metric_label(key: str) -> str:
    return {
        "in_range_percent": _("Time in range (TIR)"),
        "tight_range_percent": _("Time in tight range 70–140"),
        "very_low_percent": _("Very low"),
        "low_percent": _("Low"),
        "high_percent": _("High"),
        "very_high_percent": _("Very high"),
        "mean_mg_dl": _("Mean glucose"),
        "gmi_percent": _("Glucose management indicator (GMI)"),
        "sd_mg_dl": _("Standard deviation"),
        "cv_percent": _("Coefficient of variation (CV)"),
        "gri": _("Glycemia risk index (GRI)"),
        "lbgi": _("Low blood glucose index (LBGI)"),
        "hbgi": _("High blood glucose index (HBGI)"),
        "mage": _("Mean amplitude of glycemic excursions (MAGE)"),
        "active_percent": _("CGM active"),
    }.get(key, key)


GLUCOSE_KEYS = frozenset({"mean_mg_dl", "sd_mg_dl", "mage"})


def comparison_rows(report, unit: str) -> list[dict]:
    """The comparison table: label, formatted values, arrow and better/worse class."""
    rows = []
    for row in report.comparison:
        key = row["key"]
        glucose = key in GLUCOSE_KEYS

        def fmt(x, glucose=glucose, key=key):
            if x is None:
                return "—"
            if glucose:
                return glucose_text(x, unit)
            return (
                f"{x:.2f}"
                if key in ("lbgi", "hbgi")
                else f"{x:.1f}" + ("" if key == "gri" else " %")
            )

        delta = row["delta"]
        arrow = "" if delta is None or row["direction"] == "same" else ("↑" if delta > 0 else "↓")
        rows.append(
            {
                "key": key,
                "label": metric_label(key),
                "current": fmt(row["current"]),
                "previous": fmt(row["previous"]),
                "arrow": arrow,
                "direction": row["direction"] or "",
            }
        )
    return rows
