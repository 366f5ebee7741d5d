"""HL7 FHIR CGM IG ``$submit-cgm-bundle``: a Bundle of CGM Observations in, readings stored.

The Bundle is read by the FHIR parser (``readings.parsers.fhir``: the LOINC codes it accepts are
listed there) and stored by ``readings_ingest``, so duplicates are absorbed as for any file.
The answer is a ``transaction-response`` Bundle with one entry per submitted entry, or an
``OperationOutcome`` when the Bundle as a whole cannot be read.
"""

from __future__ import annotations

import dataclasses
import json
import logging

from django.db import transaction
from drf_spectacular.utils import OpenApiTypes, extend_schema
from rest_framework.decorators import api_view, parser_classes, permission_classes
from rest_framework.response import Response

from accounts.access import audit
from common.api import JSONParser
from readings.api import IsPersonOrDevicePosting, _patient_for_writing
from readings.parsers import RowError, UnreadableFile, parse
from readings.services import readings_ingest

logger = logging.getLogger(__name__)


class FhirJsonParser(JSONParser):
    media_type = "application/fhir+json"


def operation_outcome(message: str, *, code: str = "invalid", severity: str = "error") -> dict:
    return {
        "resourceType": "OperationOutcome",
        "issue": [{"severity": severity, "code": code, "diagnostics": message}],
    }


@extend_schema(
    operation_id="patients_fhir_submit_cgm_bundle",
    request=OpenApiTypes.OBJECT,
    responses={200: OpenApiTypes.OBJECT, 400: OpenApiTypes.OBJECT},
)
@api_view(["POST"])
@permission_classes([IsPersonOrDevicePosting])
@parser_classes([FhirJsonParser, JSONParser])
def submit_cgm_bundle(request, pk):
    patient = _patient_for_writing(request, pk)
    body = request.body
    entries = _entry_count(request)
    if entries is None:
        return Response(operation_outcome("the body is not a FHIR Bundle"), status=400)
    try:
        items = _bundle_items(body, request.data, patient.timezone)
        with transaction.atomic():
            result = readings_ingest(patient=patient, items=items, rejected_limit=None)
            if not getattr(request.user, "is_device", False):
                audit(request.user, patient, "change", "readings (FHIR $submit-cgm-bundle)")
    except UnreadableFile as exc:
        return Response(operation_outcome(str(exc)), status=400)
    errors = {row["line"]: row["reason"] for row in result.rejected}
    response_entries = []
    for line in range(1, entries + 1):
        if line in errors:
            response_entries.append(
                {
                    "response": {
                        "status": "400 Bad Request",
                        "outcome": operation_outcome(errors[line]),
                    }
                }
            )
        else:
            response_entries.append({"response": {"status": "201 Created"}})
    return Response(
        {
            "resourceType": "Bundle",
            "type": "transaction-response",
            "entry": response_entries,
        },
        content_type="application/fhir+json",
    )


def _bundle_items(body: bytes, data: dict, zone: str) -> list:
    """The Bundle's records; an entry the parser cannot read becomes that entry's error.

    The whole Bundle is parsed at once (unit checks see all its values); only if that stops
    on an unexpected error is each entry parsed alone, so one bad entry never costs the
    others (issue #11: never a 500, good entries still stored).
    """
    try:
        return list(parse(body, format="fhir", timezone=zone).items())
    except UnreadableFile:
        raise
    except Exception:  # noqa: BLE001  (reported per entry below)
        logger.info("FHIR bundle needs per-entry parsing", exc_info=True)
    items: list = []
    for line, entry in enumerate(data.get("entry") or [], start=1):
        single = json.dumps({"resourceType": "Bundle", "type": "collection", "entry": [entry]})
        try:
            parsed = list(parse(single.encode(), format="fhir", timezone=zone).items())
        except UnreadableFile as exc:
            items.append(RowError(line, str(exc)))
            continue
        except Exception as exc:  # noqa: BLE001
            items.append(RowError(line, f"entry could not be read ({type(exc).__name__}: {exc})"))
            continue
        items.extend(dataclasses.replace(item, line=line) for item in parsed)
    return items


def _entry_count(request) -> int | None:
    try:
        data = request.data
    except Exception:  # malformed JSON or a wrong media type: answered as OperationOutcome
        return None
    if not isinstance(data, dict) or data.get("resourceType") != "Bundle":
        return None
    entries = data.get("entry") or []
    return len(entries) if isinstance(entries, list) else None
