"""FHIR R4 export of a report: the HL7 CGM implementation guide's summary Observations
(hl7.fhir.uv.cgm STU1, DESIGN §7) and a DiagnosticReport carrying the PDF.

Only numbers the report stored are exported; nothing is recomputed.
"""

from __future__ import annotations

import base64
import datetime as dt
import zoneinfo

LOINC = "http://loinc.org"
UCUM = "http://unitsofmeasure.org"
CGM_PROFILE = "http://hl7.org/fhir/uv/cgm/StructureDefinition/"
PANEL = ("107931-8", "Summary of continuous glucose monitoring")
MEAN = ("97507-8", "Average glucose [Mass/volume] in Interstitial fluid during Reporting Period")
TIR = ("106793-3", "Times in glucose ranges")
BANDS = (  # (component code, display, metric key)
    ("104642-4", "Time below 54 mg/dL", "very_low_percent"),
    ("104641-6", "Time 54 to 69 mg/dL", "low_percent"),
    ("97510-2", "Time 70 to 180 mg/dL", "in_range_percent"),
    ("104640-8", "Time 181 to 250 mg/dL", "high_percent"),
    ("104639-0", "Time above 250 mg/dL", "very_high_percent"),
)
GMI = ("97506-0", "Glucose management indicator")
CV = ("104638-2", "Coefficient of variation of glucose")
DAYS = ("104636-6", "Days of sensor wear")
ACTIVE = ("104637-4", "Sensor active percentage")


def _code(code: tuple[str, str]) -> dict:
    return {"coding": [{"system": LOINC, "code": code[0], "display": code[1]}], "text": code[1]}


def _quantity(value, unit: str, ucum: str) -> dict:
    return {"value": value, "unit": unit, "system": UCUM, "code": ucum}


def _period(report) -> dict:
    zone = zoneinfo.ZoneInfo(report.patient.timezone)
    start = dt.datetime.combine(report.period_start, dt.time(), zone)
    end = dt.datetime.combine(report.period_end + dt.timedelta(days=1), dt.time(), zone)
    return {"start": start.isoformat(), "end": end.isoformat()}


def report_bundle(report, *, pdf: bytes | None = None) -> dict:
    """A collection Bundle: panel Observation, its members, and the DiagnosticReport."""
    m = report.metrics
    subject = {"reference": f"Patient/{report.patient_id}", "display": report.patient.name}
    period = _period(report)
    base = f"urn:uuid:report-{report.pk}-"

    def observation(name: str, code, **value) -> dict:
        return {
            "fullUrl": base + name,
            "resource": {
                "resourceType": "Observation",
                "id": f"report-{report.pk}-{name}",
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
                "code": _code(code),
                "subject": subject,
                "effectivePeriod": period,
                "issued": report.created_at.isoformat(),
                **value,
            },
        }

    members = []
    if report.is_cgm:
        members = [
            observation("mean", MEAN, valueQuantity=_quantity(m["mean_mg_dl"], "mg/dL", "mg/dL")),
            observation(
                "tir",
                TIR,
                component=[
                    {"code": _code((code, display)), "valueQuantity": _quantity(m[key], "%", "%")}
                    for code, display, key in BANDS
                ],
            ),
            observation("gmi", GMI, valueQuantity=_quantity(m["gmi_percent"], "%", "%")),
            observation("cv", CV, valueQuantity=_quantity(m["cv_percent"], "%", "%")),
            observation("days", DAYS, valueQuantity=_quantity(m["days"], "days", "d")),
            observation("active", ACTIVE, valueQuantity=_quantity(m["active_percent"], "%", "%")),
        ]
    panel = observation("panel", PANEL, hasMember=[{"reference": e["fullUrl"]} for e in members])
    diagnostic = {
        "fullUrl": base + "diagnostic-report",
        "resource": {
            "resourceType": "DiagnosticReport",
            "id": f"report-{report.pk}",
            "status": "final",
            "code": _code(PANEL),
            "subject": subject,
            "effectivePeriod": period,
            "issued": report.created_at.isoformat(),
            "result": [{"reference": panel["fullUrl"]}],
            "conclusion": " ".join(p["text"] for p in report.patterns),
            "presentedForm": [
                {
                    "contentType": "application/pdf",
                    "language": "en",
                    "title": f"Health report {report.period_start}–{report.period_end}",
                    "data": base64.b64encode(pdf).decode() if pdf is not None else None,
                }
            ],
        },
    }
    return {
        "resourceType": "Bundle",
        "type": "collection",
        "timestamp": report.created_at.isoformat(),
        "entry": [panel, *members, diagnostic],
    }
