"""The bridge from stored readings to `glycemia`, and the metrics endpoint.

``patient_metrics`` is the one place that turns a patient's readings into the DESIGN §5
object: one query for the window's readings → numpy arrays → ``glycemia``. The API view, the
``glycemic_metrics`` command and reports all call it, so they always show the same numbers.

Rules (DESIGN §3, §5):
- the window is whole local days in the patient's time zone; by default the last 14 days of
  data (end = local date of the newest CGM or finger-stick reading, start = end − 13);
- CGM metrics use CGM readings only; a patient with no CGM reading in the window gets the
  finger-stick summary (``kind: "smbg"``), never CGM metrics invented from sparse data;
- goals are evaluated against the patient's care-plan targets when the care-plan app offers
  them (``care_plans.services.targets_for``), else the consensus "standard" preset.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from itertools import islice

import numpy as np
import pandas as pd
from django.db.models import Max
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.decorators import api_view, permission_classes
from rest_framework.exceptions import ParseError
from rest_framework.response import Response

from accounts.access import audit, get_patient_for
from accounts.permissions import IsPerson
from common import dates
from glycemia.meter import meter_metrics
from glycemia.metrics import cgm_metrics
from glycemia.targets import PRESETS, evaluate_metrics
from patients.models import Patient
from readings.models import Reading
from readings.services import FUTURE_TOLERANCE

DEFAULT_WINDOW_DAYS = 14  # Battelino 2019: 14 days of CGM data summarise 3 months
# Windows of any length are served (years of 5-minute data are a few MB of arrays, read in
# chunks); only dates outside the calendar (``common.dates``) are refused.
READ_CHUNK = 50_000  # rows fetched from the database at a time
DEFAULT_TARGETS = "standard"
METRIC_KINDS = (Reading.Kind.CGM, Reading.Kind.SMBG)


class WindowError(ValueError):
    """A start/end that cannot be a window (bad format, end before start, out of range)."""


def parse_day(value, name: str) -> dt.date | None:
    """'YYYY-MM-DD' (or a date) → date; None and '' pass as None; anything else WindowError
    (``common.dates.parse_day``: the calendar every page and API accepts)."""
    try:
        return dates.parse_day(value, name)
    except dates.BadDate as exc:
        raise WindowError(*exc.args) from None


def _plausible(readings):
    """Readings that can be real: none in the future (stored before that rule, issue #11)."""
    return readings.filter(timestamp__lte=timezone.now() + FUTURE_TOLERANCE)


def _newest_local_date(patient: Patient) -> dt.date | None:
    newest = _plausible(Reading.objects.filter(patient=patient, kind__in=METRIC_KINDS)).aggregate(
        newest=Max("timestamp")
    )["newest"]
    if newest is None:
        return None
    return newest.astimezone(zoneinfo.ZoneInfo(patient.timezone)).date()


def resolve_window(patient: Patient, start, end) -> tuple[dt.date, dt.date]:
    """(start, end) local dates: missing ends follow the 14-day default around the data.

    No end → the local date of the newest reading (today if there is none), or start + 13
    when only start is given; no start → end − 13.
    """
    start, end = parse_day(start, "start"), parse_day(end, "end")
    span = dt.timedelta(days=DEFAULT_WINDOW_DAYS - 1)
    if end is None:
        if start is not None:
            end = start + span
        else:
            end = (
                _newest_local_date(patient)
                or dt.datetime.now(zoneinfo.ZoneInfo(patient.timezone)).date()
            )
    if start is None:
        start = end - span
    if end < start:
        raise WindowError("end must not be before start.")
    return start, end


def care_plan_targets(patient: Patient) -> dict:
    """The targets in force: the care plan's (``care_plans.services.targets_for``), else the
    consensus 'standard' preset (the care-plan app may be absent in a slimmed deployment)."""
    try:
        from care_plans.services import targets_for
    except ImportError:
        return PRESETS[DEFAULT_TARGETS]
    targets = targets_for(patient)
    if isinstance(targets, str):
        targets = PRESETS[targets]
    return targets or PRESETS[DEFAULT_TARGETS]


def _window_readings(patient: Patient, start: dt.date, end: dt.date):
    """One query: (UTC ns, mg/dL, kind, meal tag) arrays of the window, oldest first."""
    zone = zoneinfo.ZoneInfo(patient.timezone)
    lo = dt.datetime.combine(start, dt.time(), zone)
    hi = dt.datetime.combine(end + dt.timedelta(days=1), dt.time(), zone)
    rows = (
        _plausible(
            Reading.objects.filter(
                patient=patient, kind__in=METRIC_KINDS, timestamp__gte=lo, timestamp__lt=hi
            )
        )
        .order_by("timestamp")
        .values_list("timestamp", "value_mg_dl", "kind", "meal_tag")
        .iterator(chunk_size=READ_CHUNK)
    )
    parts: list[tuple] = []
    while chunk := list(islice(rows, READ_CHUNK)):  # arrays per chunk: no list of all rows
        stamps, values, kinds, tags = zip(*chunk, strict=True)
        parts.append(
            (
                pd.to_datetime(list(stamps), utc=True).as_unit("ns").asi8,
                np.asarray(values, dtype="float64"),
                np.asarray(kinds, dtype=object),
                tags,
            )
        )
    if not parts:
        empty = np.array([], dtype="int64")
        return empty, np.array([], dtype="float64"), np.array([], dtype=object), []
    times = np.concatenate([p[0] for p in parts])
    values = np.concatenate([p[1] for p in parts])
    kinds = np.concatenate([p[2] for p in parts])
    tags = [tag for p in parts for tag in p[3]]
    return times, values, kinds, tags


def patient_metrics(patient: Patient, *, start=None, end=None, exact: bool = False) -> dict:
    """DESIGN §5 metrics of ``patient`` over local dates [start, end], with goal results.

    ``start``/``end``: dates or 'YYYY-MM-DD' (raise WindowError when unusable). ``exact``:
    unrounded CGM figures (the API: numeric fields keep full precision); otherwise rounded as
    ``glycemia.metrics`` documents (the command's summary).

    >>> m = patient_metrics(patient, start="2024-05-01", end="2024-05-14")  # doctest: +SKIP
    >>> m["kind"], m["in_range_percent"], [g["met"] for g in m["goals"]][:2]  # doctest: +SKIP
    ('cgm', 72.35, [True, True])
    """
    first, last = resolve_window(patient, start, end)
    times, values, kinds, tags = _window_readings(patient, first, last)
    targets = care_plan_targets(patient)
    cgm = kinds == Reading.Kind.CGM
    if cgm.any() or not times.size:
        result = cgm_metrics(
            times[cgm], values[cgm], tz=patient.timezone, start=first, end=last, exact=exact
        )
        in_window = values[cgm]
        range_ = (targets.get("range_low", 70), targets.get("range_high", 180))
        goals = evaluate_metrics(result, targets, values=None if range_ == (70, 180) else in_window)
    else:
        result = meter_metrics(
            times,
            values,
            [tag or None for tag in tags],
            tz=patient.timezone,
            start=first,
            end=last,
        )
        # Finger-sticks cannot show time in range or CGM variability: goals stay unassessed.
        goals = evaluate_metrics({}, targets)
    result["goals"] = goals
    result["targets"] = {
        "label": targets.get("label", ""),
        "range_low": targets.get("range_low", 70),
        "range_high": targets.get("range_high", 180),
    }
    return result


@extend_schema(
    methods=["GET"],
    operation_id="patients_metrics_retrieve",
    parameters=[
        OpenApiParameter("start", OpenApiTypes.DATE, description="first local date (inclusive)"),
        OpenApiParameter("end", OpenApiTypes.DATE, description="last local date (inclusive)"),
    ],
    responses=OpenApiTypes.OBJECT,
    description="DESIGN §5 glycemic metrics over local dates [start, end] (default: the last "
    '14 days of data); finger-stick-only patients get `kind: "smbg"`. Numeric fields keep '
    "full precision (unrounded).",
)
@api_view(["GET"])
@permission_classes([IsPerson])
def patient_metrics_view(request, pk):
    patient = get_patient_for(request.user, pk)
    try:
        # exact: numeric API fields keep full precision; only the display layer rounds.
        metrics = patient_metrics(
            patient,
            start=request.query_params.get("start"),
            end=request.query_params.get("end"),
            exact=True,
        )
    except WindowError as exc:
        raise ParseError(str(exc)) from None
    audit(request.user, patient, "view", f"glycemic metrics {metrics['start']}..{metrics['end']}")
    return Response(metrics)
