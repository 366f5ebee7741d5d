"""HL7 FHIR CGM IG ``$submit-cgm-bundle``: a Bundle of CGM Observations in, readings stored.

The Bundle is read by the FHIR parser (``readings.parsers.fhir``: the LOINC codes it accepts are
listed there) and stored by ``readings_ingest``, so duplicates are absorbed as for any file.
The answer is a ``transaction-response`` Bundle with one entry per submitted entry, or an
``OperationOutcome`` when the Bundle as a whole cannot be read.
"""

from __future__ import annotations

from django.db import transaction
from drf_spectacular.utils import OpenApiTypes, extend_schema
from rest_framework.decorators import api_view, parser_classes, permission_classes
from rest_framework.response import Response

from accounts.access import audit
from diabetes_center.api import JSONParser
from readings.api import IsPersonOrDevicePosting, _patient_for_writing
from readings.parsers import UnreadableFile, parse
from readings.services import readings_ingest


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
        parsed = parse(body, format="fhir", timezone=patient.timezone)
        with transaction.atomic():
            result = readings_ingest(patient=patient, items=parsed.items())
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


def _entry_count(request) -> int | None:
    try:
        data = request.data
    except Exception:  # malformed JSON or a wrong media type: answered as OperationOutcome
        return None
    if not isinstance(data, dict) or data.get("resourceType") != "Bundle":
        return None
    entries = data.get("entry") or []
    return len(entries) if isinstance(entries, list) else None
