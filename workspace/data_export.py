"""Everything we hold about one patient, for the patient to take away (issue #12, item 16).

Two forms, both streamed so years of 5-minute CGM cost neither minutes nor memory (readings
are read with ``.iterator(chunk_size=…)`` as plain tuples, never as model objects):

- ``export_zip``: a ZIP of CSV files — ``patient.csv``, ``readings.csv`` (UTC instant with
  offset, the patient's local time, mg/dL and mmol/L, kind, device, flag, meal tag),
  ``treatments.csv``, ``reports.csv`` (the stored metrics summary) with each report's PDF under
  ``reports/``, ``care_plan_versions.csv`` (every field, the full plan as JSON too),
  ``visits.csv``, ``consents.csv``, ``uploads.csv``, ``consultations.csv`` (one row per
  message), ``medication_requests.csv`` and ``access_log.csv``. Every text cell
  goes through ``workspace.csv_export.safe_cell`` (no spreadsheet formulas).
- ``export_bundle``: one FHIR R4 ``Bundle`` of type ``collection``: Patient, an Observation per
  reading (LOINC 99504-3 CGM, 41653-7 finger-stick, DESIGN §7), each report as the CGM IG
  panel and a DiagnosticReport whose ``presentedForm`` is the PDF (``reports.fhir``), each
  care-plan version (``care_plans.fhir``; earlier versions "revoked" and replaced by the next),
  an Appointment per visit, a Consent per consent decision and an AuditEvent per access.
  Every ``fullUrl`` is a ``urn:uuid:`` and every reference points at an entry of the Bundle.

What is left out, and why: the care team's internal note on a report (the patient's copy of a
report never carries it: ``reports.pdf``), the raw device files (deleted once imported, see
``readings.services.upload_process``), and in the access log the address (IP) a member of
staff worked from — that describes the clinic's network, not the patient's data; who, role,
when, what and outcome are all there. Treatments are in the CSV only.
"""

from __future__ import annotations

import base64
import csv
import datetime as dt
import functools
import io
import json
import uuid
import zipfile
from collections.abc import Iterable, Iterator

from accounts.access import record_accesses
from accounts.models import AuditEvent
from glycemia import display
from glycemia.metrics import SUMMARY_KEYS
from glycemia.units import MMOL_L
from patients.models import Consent, Patient
from workspace.csv_export import safe_cell
from workspace.export import _observation, _patient_resource

CHUNK = 2000  # rows per database round trip and per piece of the streamed answer
NAMESPACE = uuid.UUID("6f1c3a52-2a55-4f0e-9d67-0c7f5d1f4b21")  # this product's uuid5 space


def _stamp(moment: dt.datetime | None) -> str:
    return moment.isoformat() if moment is not None else ""


def _local(moment: dt.datetime | None, zone) -> str:
    return moment.astimezone(zone).isoformat() if moment is not None else ""


# --- CSV parts -----------------------------------------------------------------------------------


def _patient_rows(patient: Patient) -> Iterator[tuple]:
    yield (
        "mrn", "name", "birth_date", "sex", "diabetes_type", "diagnosis_date", "timezone",
        "unit", "language", "phone", "email", "care_center", "care_team", "created_at",
    )  # fmt: skip
    team = ", ".join(str(u) for u in patient.endocrinologists.order_by("username"))
    yield (
        patient.mrn, patient.name, patient.birth_date.isoformat(), patient.sex,
        patient.diabetes_type, patient.diagnosis_date.isoformat() if patient.diagnosis_date else "",
        patient.timezone, patient.unit, patient.language, patient.phone, patient.email,
        str(patient.care_center or ""), team, _stamp(patient.created_at),
    )  # fmt: skip


def _reading_tuples(patient: Patient):
    from readings.models import Reading

    return (
        Reading.objects.filter(patient=patient)
        .order_by("timestamp", "pk")
        .values_list(
            "pk", "timestamp", "value_mg_dl", "kind", "device__identity", "flag", "meal_tag"
        )
        .iterator(chunk_size=CHUNK)
    )


@functools.lru_cache(maxsize=8192)
def _mmol_l(mg_dl: float) -> float:
    """mmol/L as every page shows it: mg/dL ÷ 18.01559, one decimal, half up (cached: a
    series repeats a few hundred values)."""
    return display.glucose_value(mg_dl, MMOL_L)


def _reading_rows(patient: Patient) -> Iterator[tuple]:
    zone = patient.tzinfo
    yield (
        "timestamp", "local_time", "value_mg_dl", "value_mmol_l", "kind", "device", "flag",
        "meal_tag",
    )  # fmt: skip
    for _, timestamp, value, kind, device, flag, meal_tag in _reading_tuples(patient):
        yield (
            timestamp.isoformat(),
            timestamp.astimezone(zone).isoformat(),
            value,
            _mmol_l(value),
            kind,
            device,
            flag,
            meal_tag,
        )


def _treatment_rows(patient: Patient) -> Iterator[tuple]:
    from readings.models import Treatment

    zone = patient.tzinfo
    units = {"insulin_rapid": "U", "insulin_long": "U", "carbs": "g", "exercise": "min"}
    yield ("timestamp", "local_time", "kind", "amount", "amount_unit", "text", "device")
    rows = (
        Treatment.objects.filter(patient=patient)
        .order_by("timestamp", "pk")
        .values_list("timestamp", "kind", "amount", "text", "device__identity")
        .iterator(chunk_size=CHUNK)
    )
    for timestamp, kind, amount, text, device in rows:
        unit = units.get(kind, "") if amount is not None else ""
        yield (_stamp(timestamp), _local(timestamp, zone), kind, amount, unit, text, device)


REPORT_METRICS = (*SUMMARY_KEYS, "mage", "readings_per_day", "adherence_percent")


def _reports(patient: Patient):
    return patient.reports.order_by("period_end", "pk")


def report_pdf_name(report) -> str:
    return f"reports/report-{report.pk}-{report.period_start}-{report.period_end}.pdf"


def _report_rows(patient: Patient) -> Iterator[tuple]:
    yield (
        "report_id", "kind", "period_start", "period_end", "created_at", "algorithm_version",
        "care_plan_version", *REPORT_METRICS, "mean_mmol_l", "hypo_events", "hyper_events",
        "patterns", "message_from_care_team", "pdf",
    )  # fmt: skip
    for report in _reports(patient):
        m = report.metrics or {}
        yield (
            report.pk, report.kind, report.period_start.isoformat(),
            report.period_end.isoformat(), _stamp(report.created_at), report.algorithm_version,
            report.care_plan_version_number, *(m.get(key) for key in REPORT_METRICS),
            display.glucose_value(m.get("mean_mg_dl"), MMOL_L),
            len(m.get("hypo_events") or []), len(m.get("hyper_events") or []),
            " ".join(p.get("text", "") for p in report.patterns or []),
            report.patient_message, report_pdf_name(report),
        )  # fmt: skip


def _care_plan_versions(patient: Patient):
    from care_plans.models import CarePlanVersion

    return (
        CarePlanVersion.objects.filter(plan__patient=patient)
        .select_related("created_by", "plan__patient")  # care_plans.fhir reads plan.patient
        .order_by("number")
    )


def _care_plan_rows(patient: Patient) -> Iterator[tuple]:
    yield (
        "version", "created_at", "author", "reason", "responds_to_report_id",
        "report_cadence_days", "visit_cadence_days", "review_interval_days", "range_low_mg_dl",
        "range_high_mg_dl", "goals", "hba1c_goal_percent", "medications", "patient_instructions",
        "content_json",
    )  # fmt: skip
    for v in _care_plan_versions(patient):
        c = v.content or {}
        targets = c.get("targets") or {}
        goals = "; ".join(
            f"{g.get('label') or g.get('key')} {g.get('comparison')} {g.get('target')} %"
            for g in targets.get("goals") or []
        )
        meds = "; ".join(
            f"{m.get('product')} {m.get('dose')} {m.get('dose_unit')} {m.get('timing', '')}".strip()
            for m in c.get("medications") or []
        )
        yield (
            v.number, _stamp(v.created_at), str(v.created_by), v.reason, v.responds_to_report_id,
            v.report_cadence_days, v.visit_cadence_days, v.review_interval_days,
            targets.get("range_low"), targets.get("range_high"), goals,
            c.get("hba1c_goal_percent"), meds, c.get("patient_instructions", ""),
            json.dumps(c, ensure_ascii=False, sort_keys=True),
        )  # fmt: skip


def _visits(patient: Patient):
    return patient.visits.select_related("visit_type", "clinician", "center", "room").order_by(
        "start_at", "pk"
    )


def _visit_rows(patient: Patient) -> Iterator[tuple]:
    zone = patient.tzinfo
    yield (
        "start", "local_start", "end", "visit_type", "clinician", "care_center", "room",
        "status", "cancel_reason", "reschedule_requested", "reschedule_note", "booked_at",
        "checked_in_at", "closed_at",
    )  # fmt: skip
    for v in _visits(patient):
        yield (
            _stamp(v.start_at), _local(v.start_at, zone), _stamp(v.end_at), str(v.visit_type),
            str(v.clinician), str(v.center), str(v.room or ""), v.status, v.cancel_reason,
            "yes" if v.reschedule_requested else "no", v.reschedule_note, _stamp(v.created_at),
            _stamp(v.checked_in_at), _stamp(v.closed_at),
        )  # fmt: skip


def _consents(patient: Patient):
    return Consent.objects.filter(patient=patient).order_by("at", "pk")


def _consent_rows(patient: Patient) -> Iterator[tuple]:
    yield ("topic", "what", "version", "decision", "at", "by", "wording")
    for c in _consents(patient):
        decision = "given" if c.given else "withdrawn"
        yield (
            c.topic,
            str(c.get_topic_display()),
            c.version,
            decision,
            _stamp(c.at),
            c.by_name,
            c.text,
        )


def _upload_rows(patient: Patient) -> Iterator[tuple]:
    yield (
        "uploaded_at", "file_name", "source", "format", "status", "accepted", "duplicates",
        "rejected", "error", "finished_at", "file_still_kept",
    )  # fmt: skip
    for u in patient.uploads.order_by("created_at", "pk"):
        yield (
            _stamp(u.created_at), u.filename, u.source, u.format, u.status, u.accepted,
            u.duplicates, u.rejected_count, u.error, _stamp(u.finished_at),
            "yes" if u.file else "no",
        )  # fmt: skip


def _access_rows(patient: Patient) -> Iterator[tuple]:
    """Who else viewed, changed, exported or was refused this record (no staff IPs)."""
    yield ("when_utc", "who", "role", "action", "what", "outcome")
    events = record_accesses(patient).order_by("at", "pk")
    for e in events.values_list("at", "username", "role", "action", "what", "outcome").iterator(
        chunk_size=CHUNK
    ):
        yield (_stamp(e[0]), *e[1:])


def _consultation_rows(patient: Patient) -> Iterator[tuple]:
    """One row per message of the patient's consultations (photos counted, not included)."""
    from consultations.models import Message

    yield (
        "consultation",
        "category",
        "state",
        "outcome",
        "asked",
        "from",
        "author",
        "at",
        "text",
        "photos",
    )
    messages = (
        Message.objects.filter(consultation__patient=patient)
        .select_related("consultation")
        .prefetch_related("photos")
        .order_by("consultation__created_at", "consultation_id", "at", "pk")
    )
    for m in messages:
        c = m.consultation
        yield (
            c.pk,
            c.category,
            c.state,
            c.outcome,
            _stamp(c.created_at),
            "patient" if m.from_patient else "care team",
            m.author_name,
            _stamp(m.at),
            m.text,
            len(m.photos.all()),
        )


def _medication_request_rows(patient: Patient) -> Iterator[tuple]:
    from consultations.models import MedicationRequest

    yield (
        "product",
        "dose",
        "dose_unit",
        "frequency",
        "quantity",
        "note",
        "state",
        "requested_at",
        "decided_by",
        "decided_at",
        "decision_note",
    )
    for r in MedicationRequest.objects.filter(patient=patient).order_by("created_at", "pk"):
        med = r.medication or {}
        yield (
            med.get("product", ""),
            med.get("dose", ""),
            med.get("dose_unit", ""),
            med.get("frequency", ""),
            r.quantity,
            r.note,
            r.state,
            _stamp(r.created_at),
            str(r.decided_by or ""),
            _stamp(r.decided_at),
            r.decision_note,
        )


CSV_PARTS = (
    ("patient.csv", _patient_rows),
    ("readings.csv", _reading_rows),
    ("treatments.csv", _treatment_rows),
    ("reports.csv", _report_rows),
    ("care_plan_versions.csv", _care_plan_rows),
    ("visits.csv", _visit_rows),
    ("consents.csv", _consent_rows),
    ("uploads.csv", _upload_rows),
    ("consultations.csv", _consultation_rows),
    ("medication_requests.csv", _medication_request_rows),
    ("access_log.csv", _access_rows),
)


def _pdf(report, patient: Patient) -> bytes:
    """The patient's copy of a report (their unit; the care team's message, never the
    internal note). Imported here: the PDF stack is heavy and many patients have no report."""
    from reports.pdf import report_pdf_bytes

    return report_pdf_bytes(report, unit=patient.unit, for_patient=True)


class _Pipe:
    """A write-only, unseekable file: ``zipfile`` then streams (data descriptors after each
    member) and we hand on whatever it wrote so far."""

    def __init__(self):
        self.parts: list[bytes] = []

    def write(self, data) -> int:
        self.parts.append(bytes(data))
        return len(data)

    def flush(self) -> None:
        pass

    def take(self) -> bytes:
        data = b"".join(self.parts)
        self.parts.clear()
        return data


def _csv_member(archive: zipfile.ZipFile, pipe: _Pipe, name: str, rows: Iterable[tuple], when):
    info = zipfile.ZipInfo(name, date_time=when)
    info.compress_type = zipfile.ZIP_DEFLATED
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    with archive.open(info, "w") as member:
        for n, row in enumerate(rows, start=1):
            writer.writerow([safe_cell(value) for value in row])
            if n % CHUNK == 0:
                member.write(buffer.getvalue().encode())
                buffer.seek(0)
                buffer.truncate()
                yield pipe.take()
        member.write(buffer.getvalue().encode())
    yield pipe.take()


def export_zip(patient: Patient, *, now: dt.datetime) -> Iterator[bytes]:
    """The ZIP of CSV files and report PDFs (see the module docstring), piece by piece."""
    when = now.astimezone(dt.UTC).timetuple()[:6]
    pipe = _Pipe()
    with zipfile.ZipFile(pipe, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, rows in CSV_PARTS:
            yield from _csv_member(archive, pipe, name, rows(patient), when)
        for report in _reports(patient).select_related("patient"):
            pdf = _pdf(report, patient)
            info = zipfile.ZipInfo(report_pdf_name(report), date_time=when)
            archive.writestr(info, pdf, compress_type=zipfile.ZIP_STORED)
            yield pipe.take()
    yield pipe.take()


# --- FHIR ----------------------------------------------------------------------------------------


def urn(kind: str, key) -> str:
    """A stable ``urn:uuid:`` for one of our records: the same record, the same id."""
    return f"urn:uuid:{uuid.uuid5(NAMESPACE, f'{kind}/{key}')}"


def _relink(node, links: dict[str, str]):
    """Point every ``{"reference": …}`` found in ``links`` at its new target, in place."""
    if isinstance(node, dict):
        ref = node.get("reference")
        if isinstance(ref, str) and ref in links:
            node["reference"] = links[ref]
        for value in node.values():
            _relink(value, links)
    elif isinstance(node, list):
        for value in node:
            _relink(value, links)
    return node


def _report_entries(report, patient_ref: str, pdf: bytes) -> list[dict]:
    from reports.fhir import report_bundle

    entries = report_bundle(report, pdf=pdf)["entry"]
    links = {e["fullUrl"]: urn("report-entry", e["fullUrl"]) for e in entries}
    links[f"Patient/{report.patient_id}"] = patient_ref
    for entry in entries:
        entry["fullUrl"] = links[entry["fullUrl"]]
        _relink(entry["resource"], links)
    return entries


def _care_plan_entries(patient: Patient, patient_ref: str, site: str) -> Iterator[dict]:
    """Each version's Bundle entries; a version later replaced is "revoked" (its goals
    cancelled, its medicines stopped) and the next version ``replaces`` it."""
    from care_plans.fhir import care_plan_bundle

    versions = list(_care_plan_versions(patient))
    previous = None
    for i, version in enumerate(versions):
        latest = i == len(versions) - 1
        entries = care_plan_bundle(version=version, base_url=site)["entry"]
        for entry in entries:
            resource = _relink(entry["resource"], {f"Patient/{patient.pk}": patient_ref})
            kind = resource["resourceType"]
            if kind == "CarePlan":
                if previous is not None:
                    resource["replaces"] = [{"reference": previous}]
                previous = entry["fullUrl"]
                if not latest:
                    resource["status"] = "revoked"
            elif kind == "Goal" and not latest:
                resource["lifecycleStatus"] = "cancelled"
            elif kind == "MedicationRequest" and not latest:
                resource["status"] = "stopped"
            yield entry


APPOINTMENT_STATUS = {
    "booked": "booked",
    "checked_in": "checked-in",
    "completed": "fulfilled",
    "no_show": "noshow",
    "cancelled": "cancelled",
}


def _appointment(visit, patient_ref: str) -> dict:
    resource = {
        "resourceType": "Appointment",
        "id": f"visit-{visit.pk}",
        "status": APPOINTMENT_STATUS.get(visit.status, "booked"),
        "serviceType": [{"text": str(visit.visit_type)}],
        "start": visit.start_at.isoformat(),
        "end": visit.end_at.isoformat(),
        "created": visit.created_at.isoformat(),
        "participant": [
            {"actor": {"reference": patient_ref}, "required": "required", "status": "accepted"},
            {"actor": {"display": str(visit.clinician)}, "status": "accepted"},
        ],
    }
    if visit.cancel_reason:
        resource["cancelationReason"] = {"text": visit.cancel_reason}
    if visit.reschedule_note:
        resource["comment"] = visit.reschedule_note
    return {"fullUrl": urn("visit", visit.pk), "resource": resource}


CONSENT_SCOPE = {
    "care": "treatment",
    "follower_apps": "patient-privacy",
    "remote_monitoring": "treatment",
}


def _consent(consent: Consent, patient_ref: str, *, current: bool) -> dict:
    resource = {
        "resourceType": "Consent",
        "id": f"consent-{consent.pk}",
        "status": "active" if current else "inactive",
        "scope": {
            "coding": [
                {
                    "system": "http://terminology.hl7.org/CodeSystem/consentscope",
                    "code": CONSENT_SCOPE.get(consent.topic, "patient-privacy"),
                }
            ]
        },
        "category": [
            {"coding": [{"system": "http://loinc.org", "code": "59284-0"}], "text": "Consent"}
        ],
        "patient": {"reference": patient_ref},
        "dateTime": consent.at.isoformat(),
        "policyRule": {"text": f"Diabetes Center: {consent.topic}, wording {consent.version}"},
        "sourceAttachment": {
            "contentType": "text/plain; charset=utf-8",
            "title": str(consent.get_topic_display()),
            "data": base64.b64encode(consent.text.encode()).decode(),
        },
        "provision": {
            "type": "permit" if consent.given else "deny",
            "period": {"start": consent.at.isoformat()},
        },
    }
    if consent.by_name:
        resource["performer"] = [{"display": consent.by_name}]
    return {"fullUrl": urn("consent", consent.pk), "resource": resource}


AUDIT_ACTION = {"view": "R", "export": "R", "change": "U", "create": "C", "erase": "D"}
AUDIT_OUTCOME = {"ok": "0", "denied": "4", "failed": "8"}
DCM = "http://dicom.nema.org/resources/ontology/DCM"


def _audit_event(pk, at, username, role, action, what, outcome, patient_ref: str) -> dict:
    kind = (
        ("110106", "Export") if action == AuditEvent.Action.EXPORT else ("110110", "Patient Record")
    )
    resource = {
        "resourceType": "AuditEvent",
        "id": f"audit-{pk}",
        "type": {"system": DCM, "code": kind[0], "display": kind[1]},
        "action": AUDIT_ACTION.get(action, "E"),
        "recorded": at.isoformat(),
        "outcome": AUDIT_OUTCOME.get(outcome, "0"),
        "outcomeDesc": outcome,
        "agent": [
            {
                "role": [{"text": role or "unknown"}],
                "who": {"display": username or "unknown"},
                "requestor": True,
            }
        ],
        "source": {"observer": {"display": "Diabetes Center"}},
        "entity": [{"what": {"reference": patient_ref}, "description": what}],
    }
    return {"fullUrl": urn("audit", pk), "resource": resource}


def export_bundle(patient: Patient, *, now: dt.datetime, site: str = "") -> Iterator[str]:
    """The FHIR R4 Bundle (see the module docstring), as pieces of JSON text."""
    patient_ref = urn("patient", patient.pk)
    head = {"resourceType": "Bundle", "type": "collection", "timestamp": now.isoformat()}
    yield json.dumps(head)[:-1] + ', "entry": [\n'
    entry = _patient_resource(patient)
    entry["fullUrl"] = patient_ref
    yield json.dumps(entry)
    subject = {"reference": patient_ref}

    def emit(entries: Iterable[dict]) -> Iterator[str]:
        for item in entries:
            yield ",\n" + json.dumps(item, ensure_ascii=False)

    pieces: list[str] = []
    for pk, timestamp, value, kind, device, _, _ in _reading_tuples(patient):
        item = _observation(
            patient, pk, timestamp, value, "smbg" if kind == "calibration" else kind, device
        )
        item["fullUrl"] = urn("reading", pk)
        item["resource"]["subject"] = subject
        pieces.append(",\n" + json.dumps(item))
        if len(pieces) == CHUNK:
            yield "".join(pieces)
            pieces.clear()
    yield "".join(pieces)
    for report in _reports(patient).select_related("patient"):
        pdf = _pdf(report, patient)
        yield from emit(_report_entries(report, patient_ref, pdf))
    yield from emit(_care_plan_entries(patient, patient_ref, site))
    yield from emit(_appointment(visit, patient_ref) for visit in _visits(patient))
    latest = {c.pk for c in Consent.current_for(patient).values()}
    yield from emit(_consent(c, patient_ref, current=c.pk in latest) for c in _consents(patient))
    events = (
        record_accesses(patient)
        .order_by("at", "pk")
        .values_list("pk", "at", "username", "role", "action", "what", "outcome")
        .iterator(chunk_size=CHUNK)
    )
    yield from emit(_audit_event(*e, patient_ref) for e in events)
    yield "\n]}\n"
