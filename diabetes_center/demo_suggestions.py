"""Demo patients for the plan suggestions (issue #21 §4): one per rule, each with a care plan
and a CGM trace made so that its rule fires on the demo reports, plus one whose night-time
lows block the basal increase its fasting glucose would earn.

``seed_demo`` makes the last demo patients these cases (when it seeds 32 or more), so the
sign-in list and the patient count stay as they were. Traces are deterministic (fixed seed).
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd
from django.utils import timezone

from care_plans.models import CarePlanVersion
from care_plans.services import care_plan_default_content, care_plan_revise
from patients.models import Patient
from readings.parsers import Reading
from readings.services import readings_ingest

GLARGINE = {
    "kind": "insulin_basal",
    "product": "Insulin glargine U-100",
    "dose_unit": "U",
    "timing": "bedtime",
    "frequency": "once daily",
}
ASPART = {
    "kind": "insulin_bolus",
    "product": "Insulin aspart",
    "dose": 6,
    "dose_unit": "U",
    "timing": "before meals",
    "frequency": "three times daily",
    "carb_ratio_g_per_u": 10,
}
METFORMIN = {
    "kind": "metformin",
    "product": "Metformin XR",
    "dose": 1000,
    "dose_unit": "mg",
    "timing": "with dinner",
    "frequency": "once daily",
}
GLICLAZIDE = {
    "kind": "sulfonylurea",
    "product": "Gliclazide MR",
    "dose": 60,
    "dose_unit": "mg",
    "timing": "breakfast",
    "frequency": "once daily",
}


def _between(minute, start: int, end: int):
    return (minute >= start) & (minute < end)


def _trace(
    day_level: float,
    *,
    fasting=None,
    night_low=None,
    after_lunch_low=None,
    bedtime=None,
    breakfast_peak=None,
) -> Callable:
    """(minute of day) -> mg/dL: ``day_level`` with the case's features at their hours."""

    def value(minute):
        v = np.full(minute.shape, float(day_level))
        if fasting is not None:
            v = np.where(_between(minute, 5 * 60, 7 * 60), fasting, v)
        if bedtime is not None:  # the evening high that falls overnight
            v = np.where(_between(minute, 20 * 60, 22 * 60), bedtime, v)
            night = _between(minute, 22 * 60, 1440) | _between(minute, 0, 5 * 60)
            v = np.where(night, (bedtime + (fasting or day_level)) / 2, v)
        if night_low is not None:
            v = np.where(_between(minute, 2 * 60, 3 * 60), night_low, v)
        if after_lunch_low is not None:
            v = np.where(_between(minute, 13 * 60 + 30, 14 * 60 + 45), after_lunch_low, v)
        if breakfast_peak is not None:
            rise = np.clip(1 - np.abs(minute - 8.5 * 60) / 75, 0, 1)
            v = v + rise * (breakfast_peak - day_level)
        return v

    return value


@dataclass(frozen=True)
class Case:
    label: str  # what the demo shows (the plan's reason says it too)
    diabetes_type: str
    medications: tuple
    trace: Callable
    algorithm: str = "treat_to_target"


CASES = (
    Case(
        "basal increase (Treat-to-Target)",
        "T2",
        ({**GLARGINE, "dose": 20}, METFORMIN),
        _trace(160, fasting=175),
    ),
    Case(
        "a night-time low blocks the basal increase",
        "T2",
        ({**GLARGINE, "dose": 24}, METFORMIN),
        _trace(165, fasting=190, night_low=50),
    ),
    Case(
        "mealtime insulin decrease (lows after lunch)",
        "T1",
        ({**GLARGINE, "dose": 16}, ASPART),
        _trace(135, after_lunch_low=60),
        algorithm="",
    ),
    Case(
        "sulfonylurea decrease (lows after lunch)",
        "T2",
        (METFORMIN, GLICLAZIDE),
        _trace(140, after_lunch_low=60),
    ),
    Case(
        "over-basalisation review (bedtime-to-morning fall)",
        "T2",
        ({**GLARGINE, "dose": 30}, METFORMIN),
        _trace(150, fasting=125, bedtime=200),
    ),
    Case(
        "rise after breakfast",
        "T2",
        (METFORMIN,),
        _trace(125, breakfast_peak=215),
    ),
    Case("every goal met: no change", "T2", (METFORMIN,), _trace(118)),
    Case("pregnancy: no proposal", "GDM", (), _trace(110)),
)
MIN_PATIENTS = 32  # smaller demos (tests) keep their simulated patients only


def case_for(index: int, count: int) -> Case | None:
    """The showcase case of demo patient ``index`` of ``count``: the last ones, if enough."""
    if count < MIN_PATIENTS:
        return None
    first = count - len(CASES)
    return CASES[index - first] if index >= first else None


def case_readings(case: Case, *, tz: str, start: dt.date, days: int, seed: int) -> list:
    """The case's CGM readings every 5 minutes over ``days`` local days from ``start`` up to
    now, with a little sensor noise (±6 mg/dL), as ingestable rows."""
    zone = zoneinfo.ZoneInfo(tz)
    first = dt.datetime.combine(start, dt.time(), zone)
    now = timezone.now()
    local = pd.date_range(first, now.astimezone(zone), freq="5min")
    minute = np.asarray(local.hour * 60 + local.minute)
    rng = np.random.default_rng(seed)
    values = np.clip(case.trace(minute) + rng.uniform(-6, 6, minute.size), 40, 400)
    stamps = local.tz_convert("UTC").to_pydatetime()
    return [
        Reading(
            line=n + 1,
            timestamp=stamp,
            value_mg_dl=float(round(v)),
            kind="cgm",
            device="Dexcom G7",
        )
        for n, (stamp, v) in enumerate(zip(stamps, values, strict=True))
        if stamp <= now
    ]


def seed_case(case: Case, patient: Patient, *, author, start: dt.date, days: int, seed: int):
    """The case's readings and its care plan (dated before the data, so no dose change is
    still settling when the reports judge it)."""
    readings_ingest(
        patient=patient,
        items=case_readings(case, tz=patient.timezone, start=start, days=days, seed=seed),
    )
    content = care_plan_default_content(patient=patient)
    content["medications"] = [dict(m) for m in case.medications]
    content["titration_algorithm"] = case.algorithm
    version = care_plan_revise(
        patient=patient,
        by=author,
        reason=f"Demo plan: {case.label}.",
        content=content,
    )
    CarePlanVersion.objects.filter(pk=version.pk).update(
        created_at=dt.datetime.combine(start, dt.time(), dt.UTC) - dt.timedelta(days=1)
    )
    return version
