"""Export all of a patient's data: plain CSV (re-importable) or a FHIR R4 Bundle.

The CSV is our documented plain CSV (``readings/parsers/plaincsv.py``) so an export can be
imported elsewhere in this product unchanged. Both stream: a patient may have years of CGM.
"""

import csv
import io
from collections.abc import Iterator

from patients.models import Patient
from readings.models import Reading

LOINC_CGM = "99504-3"  # Glucose [Mass/volume] in Interstitial fluid (DESIGN §7)
LOINC_SMBG = "41653-7"  # Glucose [Mass/volume] in Capillary blood by Glucometer (DESIGN §7)
CSV_HEADER = ("timestamp", "value", "unit", "kind", "device", "meal_tag", "flag")
BATCH = 5000


def _readings(patient: Patient):
    return (
        Reading.objects.filter(patient=patient)
        .order_by("timestamp", "pk")
        .values_list(
            "pk", "timestamp", "value_mg_dl", "kind", "device__identity", "meal_tag", "flag"
        )
        .iterator(chunk_size=BATCH)
    )


def export_csv(patient: Patient) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CSV_HEADER)
    for n, (_, timestamp, value, kind, device, meal_tag, flag) in enumerate(_readings(patient)):
        writer.writerow(
            (timestamp.isoformat(), f"{value:g}", "mg/dL", kind, device, meal_tag, flag)
        )
        if n % 1000 == 999:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


def _observation(patient: Patient, pk: int, timestamp, value: float, kind: str, device: str):
    code, display = (
        (LOINC_CGM, "Glucose [Mass/volume] in Interstitial fluid")
        if kind in ("cgm", "scan")
        else (LOINC_SMBG, "Glucose [Mass/volume] in Capillary blood by Glucometer")
    )
    resource = {
        "resourceType": "Observation",
        "id": f"reading-{pk}",
        "status": "final",
        "category": [
            {
                "coding": [
                    {
                        "system": "http://terminology.hl7.org/CodeSystem/observation-category",
                        "code": "laboratory",
                    }
                ]
            }
        ],
        "code": {"coding": [{"system": "http://loinc.org", "code": code, "display": display}]},
        "subject": {"reference": f"Patient/{patient.pk}"},
        "effectiveDateTime": timestamp.isoformat(),
        "valueQuantity": {
            "value": value,
            "unit": "mg/dL",
            "system": "http://unitsofmeasure.org",
            "code": "mg/dL",
        },
    }
    if device:
        resource["device"] = {"display": device}
    return {"fullUrl": f"urn:uuid:reading-{pk}", "resource": resource}


def _patient_resource(patient: Patient) -> dict:
    return {
        "fullUrl": f"urn:uuid:patient-{patient.pk}",
        "resource": {
            "resourceType": "Patient",
            "id": str(patient.pk),
            "identifier": [{"system": "urn:diabetes-center:mrn", "value": patient.mrn}],
            "name": [{"text": patient.name}],
            "birthDate": patient.birth_date.isoformat(),
            "gender": {"F": "female", "M": "male", "O": "other"}.get(patient.sex, "unknown"),
        },
    }
