"""The triage list as CSV: the current view, safe to open in a spreadsheet."""

import csv
import io
from collections.abc import Iterable, Iterator

from glycemia import display

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")  # OWASP "CSV injection"


def safe_cell(value) -> str:
    """A cell a spreadsheet will not run as a formula: text starting with = + - @ tab or CR
    gets a leading apostrophe; numbers pass unchanged.

    >>> safe_cell("=HYPERLINK(1)"), safe_cell(-3.5), safe_cell(None)
    ("'=HYPERLINK(1)", '-3.5', '')
    """
    if value is None:
        return ""
    if isinstance(value, (int, float)):
        return str(value)
    text = str(value)
    return "'" + text if text.startswith(FORMULA_PREFIXES) else text


def _glucose(value, unit: str):
    return display.glucose_value(value, unit)


def _pct(value):
    """A percentage as the page shows it (1 decimal, half away from zero): the triage stores
    full precision and a spreadsheet reader should see the page's numbers."""
    return display.percent_value(value)


def _one(value):
    return display.rounded(value, 1)


def triage_csv_rows(rows: Iterable, unit: str) -> Iterator[str]:
    """Header and one line per patient (rows from ``workspace.triage.triage_list``)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    header = [
        "name", "mrn", "diabetes_type", "mode", "tir_percent", "range_low_" + unit,
        "range_high_" + unit, "below_70_percent", "below_54_percent", "above_180_percent",
        "above_250_percent", "mean_" + unit, "cv_percent", "gmi_percent", "gri", "gri_zone",
        "active_percent", "last_reading_utc", "tir_change_points", "meter_per_day",
        "meter_mean_" + unit, "meter_below_range_percent", "meter_adherence_percent",
        "last_report_utc", "report_unread", "reviewed_at_utc", "reviewed_by",
        "plan_review_due", "flags",
    ]  # fmt: skip
    writer.writerow(header)
    yield buffer.getvalue()
    buffer.seek(0)
    buffer.truncate()
    for patient in rows:
        e = getattr(patient, "triage", None)

        def get(name: str, e=e):
            return getattr(e, name, None) if e is not None else None

        line = [
            patient.name, patient.mrn, patient.diabetes_type, get("mode"),
            _pct(get("in_range_percent")), _glucose(get("range_low"), unit),
            _glucose(get("range_high"), unit), _pct(get("below_70_percent")),
            _pct(get("very_low_percent")), _pct(get("above_180_percent")),
            _pct(get("very_high_percent")), _glucose(get("mean_mg_dl"), unit),
            _pct(get("cv_percent")), _one(get("gmi_percent")), _one(get("gri")), get("gri_zone"),
            _pct(get("active_percent")),
            get("last_reading_at").isoformat() if get("last_reading_at") else None,
            _one(get("tir_change")), _one(get("meter_per_day")),
            _glucose(get("meter_mean_mg_dl"), unit),
            _pct(get("meter_below_percent")), _pct(get("meter_adherence_percent")),
            get("last_report_at").isoformat() if get("last_report_at") else None,
            "yes" if getattr(patient, "report_unread", False) else "no",
            get("reviewed_at").isoformat() if get("reviewed_at") else None,
            str(e.reviewed_by) if e and e.reviewed_by_id else None,
            get("plan_review_due").isoformat() if get("plan_review_due") else None,
            " ".join(get("flags") or []),
        ]  # fmt: skip
        writer.writerow([safe_cell(v) for v in line])
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
