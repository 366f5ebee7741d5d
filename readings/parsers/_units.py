"""Glucose units and values: mg/dL and mmol/L, impossible values, the declared-unit check,
CGM numbers below 40 mg/dL and sensor status codes, out-of-range markers, and numbers as
exports write them.
"""

from __future__ import annotations

from ._text import fold_text, load_aliases

# --- units -------------------------------------------------------------------------------

# 1 mmol/L of glucose = 18.01559 mg/dL (molar mass 180.156 g/mol); the same factor as
# Nightscout (`constants.MMOL_TO_MGDL`) and Tidepool (`MGDL_PER_MMOLL`). DESIGN.md §3.
MG_DL_PER_MMOL_L = 18.01559

MG_DL = "mg/dL"
MMOL_L = "mmol/L"

# Physically impossible glucose values are row errors (DESIGN.md §3).
MAX_MG_DL = 1000.0
MAX_MMOL_L = 55.0

# Out-of-range markers ("Low"/"High") are stored flagged at the device's reporting limit.
# Dexcom G6/G7 and Medtronic sensors report 40..400 mg/dL; the generic default is the same.
DEFAULT_LOW_MG_DL = 40.0
DEFAULT_HIGH_MG_DL = 400.0

# A declared unit is checked against the first values of the file: mmol/L glucose is
# never "mostly above 35" and mg/dL glucose is never "mostly below 25".
UNIT_CHECK_SAMPLE = 50
UNIT_CHECK_MINIMUM = 5  # fewer values than this (a tiny file) are not enough to judge
MMOL_L_SUSPICIOUS_ABOVE = 35.0
MG_DL_SUSPICIOUS_BELOW = 25.0


# No CGM reports a number below 40 mg/dL: Dexcom G6/G7, Medtronic Guardian/Enlite and
# FreeStyle Libre 1-3 all show "Low"/"LO" below it (their manuals' reporting ranges start at
# 40). So a sensor number below 40 is not a glucose reading and never enters metrics
# (DESIGN §3): it is a row error on every path ("below any CGM's reporting range"). Only the
# device's own out-of-range marker is stored, as a reading at this limit flagged "low".
# Meter (finger-stick) values have their own, lower ranges (20 mg/dL and below): not checked.
CGM_LOWEST_MG_DL = 40.0
SENSOR_KINDS = frozenset({"cgm", "scan"})
BELOW_CGM_RANGE = "below any CGM's reporting range"

# Dexcom special glucose values (the codes Nightscout's errorcodes plugin displays): an
# `sgv` of 0..12 is a sensor status, never glucose; the row error names the status. See
# README.md "Sensor status codes".
SENSOR_STATUS_BELOW_MG_DL = 13.0
SENSOR_STATUS_CODES = {
    0: "no value",
    1: "sensor not active",
    2: "minimal deviation",
    3: "no antenna",
    5: "sensor not calibrated",
    6: "counts deviation",
    9: "absolute deviation",
    10: "power deviation",
    12: "bad RF",
}


def mmol_to_mg_dl(mmol: float) -> float:
    """Convert mmol/L to a whole mg/dL so consensus mmol/L bands map exactly.

    >>> mmol_to_mg_dl(10.0), mmol_to_mg_dl(3.9), mmol_to_mg_dl(2.9)
    (180.0, 70.0, 52.0)
    """
    return float(round(mmol * MG_DL_PER_MMOL_L))


def unit_from_text(text: str) -> str | None:
    """Find a glucose unit in a header or field ("Glucose Value (mmol/L)" -> "mmol/L")."""
    folded = fold_text(text).replace(" ", "")
    if "mmol" in folded or "毫摩尔" in folded:
        return MMOL_L
    if "mg/dl" in folded or "mg/100ml" in folded or "毫克" in folded:
        return MG_DL
    return None


def marker_flag(text: str) -> str:
    """Return "low"/"high" when `text` is an out-of-range marker, else ""."""
    word = fold_text(text).strip()
    if word in LOW_WORDS:
        return "low"
    if word in HIGH_WORDS:
        return "high"
    return ""


_MARKERS = load_aliases("markers")
# Words that mean "below/above the measuring range", in the languages exports come in.
# Compared after `fold_text` (lower case, accents removed), so "Élevé" is "eleve".
LOW_WORDS = frozenset(fold_text(w) for w in _MARKERS["low"])
HIGH_WORDS = frozenset(fold_text(w) for w in _MARKERS["high"])


# --- numbers -----------------------------------------------------------------------------


def parse_number(text: str) -> float:
    """Parse "5,4", "1.234,5", "1,234.5" or "120"; raise ValueError with a clear reason.

    >>> parse_number("7,1"), parse_number("2746,00000"), parse_number("1.234,5")
    (7.1, 2746.0, 1234.5)
    """
    try:  # the usual "120" or "5.4": float() reads it exactly as the rules below would
        value = float(text)
    except ValueError:
        pass
    else:
        if value - value == 0:  # not nan or ±inf
            return value
    s = text.strip().replace("\u00a0", "").replace(" ", "")
    if "," in s and "." in s:
        if s.rfind(",") > s.rfind("."):
            s = s.replace(".", "").replace(",", ".")
        else:
            s = s.replace(",", "")
    elif "," in s:
        s = s.replace(",", ".")
    try:
        value = float(s)
    except ValueError:
        raise ValueError(f"value {text!r} is not a number") from None
    if value != value or value in (float("inf"), float("-inf")):
        raise ValueError(f"value {text!r} is not a number")
    return value


def parse_duration_minutes(text: str) -> float | None:
    """ "00:45:00" or "0:20" -> minutes; a bare number is minutes."""
    s = text.strip()
    if not s:
        return None
    if ":" in s:
        parts = [int(p) for p in s.split(":")]
        while len(parts) < 3:
            parts.append(0)
        hours, minutes, seconds = parts[:3]
        return hours * 60 + minutes + seconds / 60
    return parse_number(s)


def sensor_value_problem(value_mg_dl: float, kind: str) -> str:
    """Why `value_mg_dl` cannot be a sensor reading of `kind` ("" when it can).

    The one rule for CGM numbers below 40 mg/dL (see ``CGM_LOWEST_MG_DL``): every parser
    applies it through `glucose`, and the ingest path (``readings.services.reading_checked``)
    applies it again to every record it stores, whoever built it.

    >>> sensor_value_problem(35, "cgm")
    "glucose 35 mg/dL is below any CGM's reporting range (40 mg/dL; lower shows as Low)"
    >>> sensor_value_problem(35, "smbg"), sensor_value_problem(40, "cgm")
    ('', '')
    """
    if kind not in SENSOR_KINDS or not value_mg_dl < CGM_LOWEST_MG_DL:
        return ""
    return (
        f"glucose {value_mg_dl:g} mg/dL is {BELOW_CGM_RANGE}"
        f" ({CGM_LOWEST_MG_DL:g} mg/dL; lower shows as Low)"
    )
