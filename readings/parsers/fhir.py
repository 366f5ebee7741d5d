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
or reference mentions CGM, sensor, Dexcom, Libre, Guardian, Enlite, ...). LOINC 9059-7
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

from ._common import Context, fold_text, glucose, parse_iso_instant, unit_from_text
from ._json import each_element
from ._records import RowError, Treatment

CGM_CODES = frozenset({"99504-3", "105272-9"})
SMBG_CODES = frozenset({"2339-0", "41653-7", "14743-9", "15074-8", "14745-4", "2345-7"})
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
    return each_element(
        text, "resource", lambda shape, index, value: _value(ctx, shape, index, value)
    )


def _value(ctx: Context, shape: str, index: int, value) -> Iterator:
    """One top-level value: a Bundle (its entries), an entry wrapper, or a resource."""
    if shape == "object" and isinstance(value, dict) and value.get("resourceType") == "Bundle":
        for number, entry in enumerate(value.get("entry") or [], start=1):
            resource = entry.get("resource") if isinstance(entry, dict) else None
            yield from _resource(ctx, number, resource)
        return
    if isinstance(value, dict) and "resource" in value:
        value = value["resource"]
    yield from _resource(ctx, index, value)


def _resource(ctx: Context, line: int, resource) -> Iterator:
    if not isinstance(resource, dict) or resource.get("resourceType") != "Observation":
        return
    if resource.get("status") in ("entered-in-error", "cancelled"):
        return
    codes = {
        c.get("code")
        for c in (resource.get("code") or {}).get("coding") or []
        if isinstance(c, dict)
    }
    glucose_codes = codes & GLUCOSE_CODES
    if not glucose_codes and CARBS_CODE not in codes:
        return
    try:
        instant = _effective(ctx, resource)
    except ValueError as exc:
        yield RowError(line, str(exc))
        return
    device = _device(resource)
    quantity = resource.get("valueQuantity") or {}
    value = quantity.get("value")
    if not isinstance(value, int | float) or isinstance(value, bool):
        yield RowError(line, f"Observation without a numeric valueQuantity.value ({value!r})")
        return
    if not glucose_codes:
        yield Treatment(line, instant, "carbs", float(value), "", device)
        return
    unit = unit_from_text(str(quantity.get("code") or "")) or unit_from_text(
        str(quantity.get("unit") or "")
    )
    if unit is None:
        yield RowError(line, f"glucose unit {quantity.get('unit')!r} is not mg/dL or mmol/L")
        return
    cgm = bool(glucose_codes & CGM_CODES) or any(w in fold_text(device) for w in _CGM_DEVICE_WORDS)
    yield glucose(ctx, line, instant, float(value), unit, "cgm" if cgm else "smbg", device)


def _effective(ctx: Context, resource: dict):
    text = (
        resource.get("effectiveDateTime")
        or resource.get("effectiveInstant")
        or (resource.get("effectivePeriod") or {}).get("start")
    )
    if not isinstance(text, str) or not text:
        raise ValueError("Observation without an effective date-time")
    return parse_iso_instant(text, ctx.clock)


def _device(resource: dict) -> str:
    device = resource.get("device") or {}
    if not isinstance(device, dict):
        return ""
    return str(device.get("display") or device.get("reference") or "")
