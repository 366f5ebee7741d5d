"""FHIR R4 glucose Observations: one Observation, a Bundle (``entry[].resource``) or a list.

Accepted LOINC codes (DESIGN.md §7):

====== ============================================================= ======
code   meaning                                                       kind
====== ============================================================= ======
99504-3 Glucose [Mass/volume] in Interstitial fluid                   cgm
105272-9 Glucose [Moles/volume] in Interstitial fluid                 cgm
2339-0  Glucose [Mass/volume] in Blood                                smbg
41653-7 Glucose [Mass/volume] in Capillary blood by Glucometer        smbg
14743-9 Glucose [Moles/volume] in Capillary blood by Glucometer       smbg
15074-8 Glucose [Moles/volume] in Blood                               smbg
14745-4 Glucose [Moles/volume] in Body fluid                          smbg
2345-7  Glucose [Mass/volume] in Serum or Plasma                      smbg
====== ============================================================= ======

The SMBG codes become "cgm" when the Observation's device says it is a CGM (its display
or reference mentions CGM, sensor, Dexcom, Libre, Guardian, Enlite, ...). The generic
codes 14745-4 (body fluid), 2339-0 and 15074-8 (blood, no method) are decided by cadence
when the device does not say: a device's readings whose median step is at most 15 minutes
(looking at its first 12, or all when fewer; at least 4) are a CGM series, else SMBG.
41653-7 and 14743-9 ("by glucometer") and 2345-7 (serum/plasma) stay SMBG. LOINC 9059-7
(carbohydrate intake) becomes a carbs Treatment. Other resources (MedicationAdministration,
Patient, ...) and Observations with status ``entered-in-error``/``cancelled`` are skipped.

``valueQuantity`` must be in mg/dL or mmol/L (unit or UCUM code, case-insensitive). The
instant is ``effectiveDateTime`` / ``effectiveInstant`` / ``effectivePeriod.start``
(an offset is used as given; a date-time without one is the patient's local time).
``line`` is the resource's index in the Bundle's ``entry`` array (or the list) + 1.
A Bundle is read with the stdlib ``json`` (not streamed); a top-level list is streamed.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta

from ._json import array, each_element, number, obj, shown, text
from ._pipeline import Context, glucose
from ._records import Reading, RowError, Treatment
from ._text import fold_text
from ._times import parse_iso_instant
from ._units import unit_from_text

CGM_CODES = frozenset({"99504-3", "105272-9"})
SMBG_CODES = frozenset({"2339-0", "41653-7", "14743-9", "15074-8", "14745-4", "2345-7"})
# Codes that name no method ("in body fluid", "in blood"): CGM bundles use them too (the
# Sensotrend converter writes 14745-4 for a t:slim's CGM values), so a series decides.
GENERIC_CODES = frozenset({"14745-4", "2339-0", "15074-8"})
CADENCE_SAMPLE = 12  # readings of one device looked at before deciding (an hour of CGM)
CADENCE_MINIMUM = 4  # fewer readings than this in the whole file: a meter
CGM_MAX_STEP = timedelta(minutes=15)  # Libre's historic interval; meters are hours apart
_UNDECIDED = "undecided"
GLUCOSE_CODES = CGM_CODES | SMBG_CODES
CARBS_CODE = "9059-7"

_CGM_DEVICE_WORDS = (
    "cgm",
    "sensor",
    "dexcom",
    "libre",
    "guardian",
    "enlite",
    "eversense",
    "continuous",
)
_SIGNATURE = re.compile(r'"resourceType"\s*:\s*"(Bundle|Observation)"')


def sniff(text: str) -> bool:
    return text.lstrip()[:1] in ("[", "{") and bool(_SIGNATURE.search(text))


def parse(text: io.TextIOBase, ctx: Context) -> Iterator:
    return _by_cadence(
        each_element(text, "resource", lambda shape, index, value: _value(ctx, shape, index, value))
    )


def _by_cadence(items: Iterator) -> Iterator:
    """Give each undecided reading (a generic code, no CGM device) its kind by cadence.

    Readings of one device wait (at most CADENCE_SAMPLE of them) until the device's kind
    is decided, then every later reading of it is passed on at once.
    """
    decided: dict[str, str] = {}
    waiting: dict[str, list[Reading]] = {}
    for item in items:
        if not isinstance(item, Reading) or item.kind != _UNDECIDED:
            yield item
            continue
        kind = decided.get(item.device)
        if kind is not None:
            yield replace(item, kind=kind)
            continue
        queue = waiting.setdefault(item.device, [])
        queue.append(item)
        if len(queue) >= CADENCE_SAMPLE:
            kind = decided[item.device] = cadence_kind([r.timestamp for r in queue])
            yield from (replace(r, kind=kind) for r in waiting.pop(item.device))
    for queue in waiting.values():
        kind = cadence_kind([r.timestamp for r in queue])
        yield from (replace(r, kind=kind) for r in queue)


def cadence_kind(instants: list) -> str:
    """ "cgm" when the readings form a sensor series (at least CADENCE_MINIMUM readings, a
    median step of at most CGM_MAX_STEP), else "smbg".

    >>> from datetime import datetime, timedelta
    >>> t0 = datetime(2024, 1, 1)
    >>> cadence_kind([t0 + timedelta(minutes=5 * i) for i in range(12)])
    'cgm'
    >>> cadence_kind([t0 + timedelta(hours=4 * i) for i in range(12)])
    'smbg'
    """
    if len(instants) < CADENCE_MINIMUM:
        return "smbg"
    ordered = sorted(instants)
    steps = sorted(b - a for a, b in zip(ordered, ordered[1:], strict=False))
    median = steps[len(steps) // 2]
    return "cgm" if timedelta(0) < median <= CGM_MAX_STEP else "smbg"


def _value(ctx: Context, shape: str, index: int, value) -> Iterator:
    """One top-level value: a Bundle (its entries), an entry wrapper, or a resource."""
    if shape == "object" and isinstance(value, dict) and value.get("resourceType") == "Bundle":
        for number_, entry in enumerate(array(value.get("entry")), start=1):
            yield from _resource(ctx, number_, obj(entry).get("resource"))
        return
    if isinstance(value, dict) and "resource" in value:
        value = value["resource"]
    yield from _resource(ctx, index, value)


def _resource(ctx: Context, line: int, resource) -> Iterator:
    if not isinstance(resource, dict) or resource.get("resourceType") != "Observation":
        return
    if resource.get("status") in ("entered-in-error", "cancelled"):
        return
    codes = {text(obj(c).get("code")) for c in array(obj(resource.get("code")).get("coding"))}
    glucose_codes = codes & GLUCOSE_CODES
    if not glucose_codes and CARBS_CODE not in codes:
        return
    quantity = obj(resource.get("valueQuantity"))
    try:
        instant = _effective(ctx, resource)
        value = number(quantity.get("value"), "valueQuantity.value")
    except ValueError as exc:
        yield RowError(line, str(exc))
        return
    device = _device(resource)
    if not glucose_codes:
        yield Treatment(line, instant, "carbs", value, "", device)
        return
    unit = unit_from_text(text(quantity.get("code"))) or unit_from_text(text(quantity.get("unit")))
    if unit is None:
        yield RowError(line, f"glucose unit {shown(quantity.get('unit'))} is not mg/dL or mmol/L")
        return
    if glucose_codes & CGM_CODES or any(w in fold_text(device) for w in _CGM_DEVICE_WORDS):
        kind = "cgm"
    elif glucose_codes <= GENERIC_CODES:
        kind = _UNDECIDED
    else:
        kind = "smbg"
    yield glucose(ctx, line, instant, value, unit, kind, device)


def _effective(ctx: Context, resource: dict):
    value = (
        resource.get("effectiveDateTime")
        or resource.get("effectiveInstant")
        or obj(resource.get("effectivePeriod")).get("start")
    )
    if not isinstance(value, str) or not value:
        raise ValueError("Observation without an effective date-time")
    return parse_iso_instant(value, ctx.clock)


def _device(resource: dict) -> str:
    device = obj(resource.get("device"))
    return text(device.get("display")) or text(device.get("reference"))
