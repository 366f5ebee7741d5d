"""The access matrix: who may do what on every route, as the design says (DESIGN.md §4,
``accounts.access``), one entry per URL name. ``test_access_matrix.py`` runs it.

An entry says, per HTTP method the route means, *who* may use it; every other method must
answer 405 (or a refusal, for someone who may not use the route at all). HEAD follows GET.
"Who" is a set of relations between the caller and the target patient (A or B), or of roles
for routes without a patient:

- ``self``: the patient's own account; ``team``: an endocrinologist on the patient's care team;
  ``center``: staff (or a nurse/dietitian, who have staff's access) of the patient's center;
  ``visit-clinician``: the clinician a visit is booked with; ``admin``: an administrator;
- roles: ``anyone`` (signed out too), ``person`` (any signed-in human), ``patient``,
  ``endocrinologist``, ``care-staff`` (staff, nurses, dietitians), ``staff`` (that role only),
  and ``center-staff`` (the staff role, of the target patient's center);
- credentials of the target patient: ``upload-token``, ``read-token`` (device tokens) and
  ``ns-secret`` (the Nightscout API secret).

To place a new route, add one line to ``MATRIX`` (copy a neighbour): its URL name, the rule per
method, and ``args`` if the URL takes a patient's object (``patient``, ``report``, ``visit``…: from
the test world and the target, A or B, to the URL's keyword arguments), with ``body`` for what a
POST sends. For example, a patient's data-export page that the patient and their clinicians
may open::

    Route("patients-export", {G: CLINICAL}, args=patient),
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

# --- who ------------------------------------------------------------------------------------
ANYONE, PERSON, PATIENT = "anyone", "person", "patient"
ENDO, CARE, ADMIN = "endocrinologist", "care-staff", "admin"
SELF, TEAM, CENTER, VISIT_CLINICIAN = "self", "team", "center", "visit-clinician"
# Clinic setup is the ``staff`` role's alone (not nurses' or dietitians'): ``staff`` is that
# role, ``center-staff`` a staff member of the target patient's center.
STAFF, CENTER_STAFF = "staff", "center-staff"
UPLOAD_TOKEN, READ_TOKEN, NS_SECRET = "upload-token", "read-token", "ns-secret"

NOBODY: frozenset = frozenset()
SEES = frozenset({SELF, TEAM, CENTER, ADMIN})  # patients_visible_to
CLINICAL = frozenset({SELF, TEAM, ADMIN})  # staff are refused glucose data, reports, plans
# DESIGN §4 names "endocrinologists of that patient" as who POSTs a care-plan version; admins
# may too (tests/care_plans/test_api.py::test_it_lets_an_admin_revise, may_edit_care_plan).
# That disagreement is the lead's call (see the report): drop ADMIN here if admins may not.
PLAN_EDITORS = frozenset({TEAM, ADMIN})
SCHEDULES = frozenset({TEAM, CENTER, ADMIN})  # may see the patient, and is not a patient
STAFFISH = frozenset({ENDO, CARE, ADMIN})  # calendars, worklist: everyone but patients
VISIT = frozenset({SELF, TEAM, CENTER, VISIT_CLINICIAN, ADMIN})  # visits_visible_to
VISIT_STAFF = VISIT - {SELF}  # a visit's actions the care center takes
NS_ANY = frozenset({UPLOAD_TOKEN, READ_TOKEN, NS_SECRET})
NS_READ = frozenset({READ_TOKEN, NS_SECRET})
NS_WRITE = frozenset({UPLOAD_TOKEN, NS_SECRET})
ANY = frozenset({ANYONE})
PERSONS = frozenset({PERSON})

# The roles the matrix is run as; see ``who`` in test_access_matrix.py for their relations.
ROLES = (
    "anonymous",
    "patient A",
    "patient B",
    "endocrinologist of A",
    "endocrinologist not of A",
    "staff of A's center",
    "staff of another center",
    "nurse of A's center",
    "upload token of A",
    "read token of A",
    "Nightscout secret of A",
    "admin",
)
METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")


@dataclass(frozen=True)
class Route:
    """One URL name (and, for a URL that does different things by argument, a variant)."""

    name: str
    rules: dict[str, frozenset]
    args: Callable | None = None  # (world, target) → URL kwargs; None: no target patient
    query: Callable | None = None  # (world, target) → query parameters
    body: Callable | None = None  # (world, target) → data sent with POST/PUT/PATCH/DELETE
    json: bool = False  # send the body as JSON (the APIs) rather than as a form
    variant: str = ""
    # A refusal this route answers as 400 with this text (a body that names a patient the
    # caller may not see is "no such patient", as for one that does not exist).
    refusal_400: str = ""
    # Run against patient A's and patient B's objects (own and other)? By default when the URL
    # names an object (``args``); say so for a patient named only in the query or body.
    per_patient: bool | None = None
    # A 503 is this route's answer about the service (``/health/``: the matrix's world runs no
    # worker, so the pipeline is reported failing), not a server error.
    service_503: bool = False

    @property
    def targets(self) -> tuple:
        per_patient = self.args is not None if self.per_patient is None else self.per_patient
        return ("A", "B") if per_patient else (None,)

    @property
    def key(self) -> str:
        return f"{self.name}[{self.variant}]" if self.variant else self.name

    @property
    def api(self) -> bool:
        """A REST API endpoint (DRF): the schema and the operations it lists."""
        return self.name.startswith("api-") and self.name != "api-docs"

    @property
    def page(self) -> bool:
        return not (self.api or self.name.startswith("nightscout-"))


def patient(w, t):
    return {"pk": w.patients[t].pk}


def setup_item(part: str):
    """A center's setup row (``rooms``) or a clinician's (``sessions``) in the target's center."""

    def args(w, t):
        if part == "rooms":
            return {"part": part, "pk": w.setup[t]["room"]}
        return {"pk": w.setup[t]["clinician"], "part": part, "item": w.setup[t]["session"]}

    return args


def setup_center(w, t):
    return {"center": w.patients[t].care_center_id}  # admins choose the center; staff: ignored


def report(w, t):
    return {"pk": w.reports[t].pk}


def upload(w, t):
    return {"pk": w.uploads[t].pk}


def suggestion(w, t):
    return {"pk": w.suggestions[t].pk}


def visit(w, t):
    return {"pk": w.visits[t].pk}


def alert(w, t):
    return {"pk": w.alerts[t].pk}


def shift(w, t):
    return {"pk": w.shifts[t].pk}


def consultation(w, t):
    return {"pk": w.consultations[t].pk}


def consultation_photo(w, t):
    return {"pk": w.consultation_photos[t].pk}


def medication_request(w, t):
    return {"pk": w.medication_requests[t].pk}


def token(w, t):
    return {"pk": w.patients[t].pk, "token_pk": w.tokens[t].pk}


def ns(w, t):
    return {"key": w.ns_keys[t]}


def waitlist_entry(w, t):
    """The patient's active waiting-list entry (the world's offer belongs to one)."""
    return {"pk": w.waitlist_offers[t].entry.pk}


def booking_request(w, t):
    """A clinician's open booking request for the patient (made on first use)."""
    from visits.models import BookingRequest

    item, _created = BookingRequest.objects.get_or_create(
        patient=w.patients[t], dismissed_at=None, defaults={"reason": "consultation"}
    )
    return {"pk": item.pk}


def visit_request(w, t):
    """A patient's open visit request (made on first use; the world is rolled back at the end)."""
    from visits.models import VisitRequest

    item, _created = VisitRequest.objects.get_or_create(
        patient=w.patients[t], handled_at=None, defaults={"note": "mornings"}
    )
    return {"pk": item.pk}


def _book(w, t):
    return {"patient": w.patients[t].pk, "start": "not a time", "slot_clinician": ""}


def _visit_json(w, t):
    return {
        "patient": w.patients[t].pk,
        "clinician": w.clinicians[t].pk,
        "visit_type": w.visit_type.pk,
        "start": w.free_start.isoformat(),
    }


def _new_patient(w, t):
    return {
        "mrn": "MATRIX-NEW",
        "name": "New Patient",
        "birth_date": "1990-01-01",
        "diabetes_type": "T2",
        "timezone": "UTC",
        "unit": "mg/dL",
    }


def _readings(w, t):
    return {
        "readings": [
            {
                "timestamp": w.recent.isoformat(),
                "value": 123,
                "unit": "mg/dL",
                "kind": "cgm",
                "device": "matrix",
            }
        ]
    }


def _upload_file(w, t):
    from django.core.files.uploadedfile import SimpleUploadedFile

    csv = f"timestamp,glucose\n{w.recent:%Y-%m-%d %H:%M},120\n".encode()
    return {"file": SimpleUploadedFile("matrix.csv", csv, "text/csv"), "format": "auto"}


def _ns_entries(w, t):
    return [{"type": "sgv", "sgv": 120, "date": int(w.recent.timestamp() * 1000)}]


def _ns_treatments(w, t):
    return [{"eventType": "Note", "created_at": w.recent.isoformat(), "notes": "matrix"}]


def _ns_status(w, t):
    return {"device": "matrix", "created_at": w.recent.isoformat()}


G = "GET"
P = "POST"

MATRIX: list[Route] = [
    # --- operations (issue #20 §5): the pipeline's state for anyone (an outside prober);
    # Prometheus figures for admins, or a scrape token (tests/diabetes_center/
    # test_operations.py, which also tries wrong tokens).
    Route("health", {G: ANY}, service_503=True),
    Route("metrics", {G: frozenset({ADMIN})}),
    # --- accounts: sign-in and the signed-in person's own settings ---------------------------
    Route("home", {G: PERSONS}),
    Route(
        "login",
        {G: ANY, P: ANY},
        body=lambda w, t: {"username": "x", "password": "y"},
    ),
    Route("logout", {P: ANY}),
    Route(
        "preferences",
        {G: PERSONS, P: PERSONS},
        body=lambda w, t: {"unit": "mmol/L"},
    ),
    Route(
        "two-factor-setup",
        {G: PERSONS, P: PERSONS},
        body=lambda w, t: {"token": "000000"},
    ),
    Route(
        "two-factor-verify",
        {G: PERSONS, P: PERSONS},
        body=lambda w, t: {"token": "000000"},
    ),
    Route("sign-out-everywhere", {P: PERSONS}),
    Route(
        "password_change",
        {G: PERSONS, P: PERSONS},
        body=lambda w, t: {"old_password": "x"},
    ),
    Route("password_change_done", {G: PERSONS}),
    Route(
        "password_reset",
        {G: ANY, P: ANY},
        body=lambda w, t: {"email": "nobody@example.org"},
    ),
    Route("password_reset_done", {G: ANY}),
    Route(
        "password_reset_confirm",
        {G: ANY, P: ANY},
        args=lambda w, t: {"uidb64": "MQ", "token": "set-password"},
        per_patient=False,
    ),
    Route("password_reset_complete", {G: ANY}),
    Route("set_language", {P: ANY}, body=lambda w, t: {"language": "en"}),
    # --- patients: lists and the workspace ---------------------------------------------------
    Route("patients-list", {G: STAFFISH}),
    Route("patients-population", {G: frozenset({ENDO, ADMIN})}),
    # The patient's own view; a patient opening their workspace is sent there (a redirect).
    Route("my-glucose", {G: frozenset({PATIENT})}),
    Route("patients-detail", {G: SEES}, args=patient),  # staff: demographics only
    Route("patients-day", {G: CLINICAL}, args=patient),
    Route("patients-reports", {G: CLINICAL}, args=patient),
    Route("patients-plan", {G: CLINICAL}, args=patient),
    Route("patients-files", {G: CLINICAL}, args=patient),
    Route("patients-visits", {G: CLINICAL}, args=patient),
    Route("patients-access", {G: CLINICAL}, args=patient),
    Route("patients-alerts", {G: CLINICAL}, args=patient),  # the patient: to their privacy page
    Route(
        "patients-review",
        {P: frozenset({TEAM, ADMIN})},
        args=patient,
        body=lambda w, t: {"note": "ok"},
    ),
    Route("patients-privacy", {G: SEES}, args=patient),  # consents: read by who sees them
    Route(
        "patients-consent",
        {P: frozenset({SELF})},
        args=patient,
        body=lambda w, t: {"topic": "care", "decision": "give"},
    ),
    Route("patients-export-zip", {G: frozenset({SELF, ADMIN})}, args=patient),
    Route("patients-export-fhir", {G: frozenset({SELF, ADMIN})}, args=patient),
    # --- readings pages: uploads (staff bring files too), the patient's own secrets ----------
    Route(
        "readings-upload", {G: SEES, P: SEES}, args=patient, body=lambda w, t: {"format": "auto"}
    ),
    Route("readings-uploads", {G: SEES}, args=patient),
    Route("readings-upload-detail", {G: SEES}, args=upload),
    Route("readings-nightscout", {P: frozenset({SELF})}, args=patient),
    Route(
        "readings-token-new",
        {P: frozenset({SELF})},
        args=patient,
        body=lambda w, t: {"name": "phone", "scope": "upload"},
    ),
    Route("readings-token-revoke", {P: CLINICAL}, args=token),
    # --- Nightscout: credentials only (a signed-in session is no credential here) -------------
    Route("nightscout-root", {G: NS_ANY}, args=ns),
    Route("nightscout-status", {G: NS_ANY}, args=ns),
    Route("nightscout-verifyauth", {G: NS_ANY}, args=ns),
    Route("nightscout-entries", {G: NS_READ, P: NS_WRITE}, args=ns, body=_ns_entries, json=True),
    Route("nightscout-sgv", {G: NS_READ}, args=ns),
    Route("nightscout-current", {G: NS_READ}, args=ns),
    Route(
        "nightscout-treatments", {G: NS_READ, P: NS_WRITE}, args=ns, body=_ns_treatments, json=True
    ),
    Route(
        "nightscout-devicestatus", {G: NS_READ, P: NS_WRITE}, args=ns, body=_ns_status, json=True
    ),
    # --- reports pages ----------------------------------------------------------------------
    Route("reports-unread", {G: frozenset({ENDO, ADMIN})}),
    Route("reports-detail", {G: CLINICAL}, args=report),
    Route("reports-pdf", {G: CLINICAL}, args=report),
    Route("reports-note", {P: frozenset({TEAM})}, args=report, body=lambda w, t: {"note": "seen"}),
    Route("reports-mark-read", {P: CLINICAL}, args=report),
    # Plan suggestions: the clinicians who may revise the plan; never the patient or staff.
    Route(
        "reports-suggestion-dismiss",
        {P: PLAN_EDITORS},
        args=suggestion,
        body=lambda w, t: {"reason": "access matrix"},
    ),
    Route(
        "reports-generate",
        {P: frozenset({TEAM, ADMIN})},
        args=lambda w, t: {"patient_pk": w.patients[t].pk},
    ),
    # --- care-plan pages: read by whoever sees the patient, edited by the care team ----------
    Route(
        "care-plans-detail",
        {G: SEES, P: PLAN_EDITORS},
        args=patient,
        body=lambda w, t: {"reason": ""},
    ),
    Route("care-plans-targets", {G: PLAN_EDITORS}, args=patient),
    Route("care-plans-medication-row", {G: PLAN_EDITORS}, args=patient),
    Route("care-plans-history", {G: CLINICAL}, args=patient),
    Route("care-plans-compare", {G: CLINICAL}, args=patient, query=lambda w, t: {"a": 1, "b": 2}),
    # --- visits pages -----------------------------------------------------------------------
    # Clinic setup: staff of their own center, admins of any (``?center=``); types: admins edit.
    Route("visits-setup", {G: frozenset({STAFF, ADMIN}), P: frozenset({STAFF, ADMIN})}),
    Route(
        "visits-setup-remove",
        {P: frozenset({CENTER_STAFF, ADMIN})},
        args=setup_item("rooms"),
        query=setup_center,
    ),
    Route(
        "visits-setup-clinician",
        {G: frozenset({CENTER_STAFF, ADMIN}), P: frozenset({CENTER_STAFF, ADMIN})},
        args=lambda w, t: {"pk": w.setup[t]["clinician"]},
    ),
    Route(
        "visits-setup-clinician-remove",
        {P: frozenset({CENTER_STAFF, ADMIN})},
        args=setup_item("sessions"),
    ),
    Route("visits-setup-types", {G: frozenset({STAFF, ADMIN}), P: frozenset({ADMIN})}),
    Route(
        "visits-setup-type",
        {G: frozenset({ADMIN}), P: frozenset({ADMIN})},
        args=lambda w, t: {"pk": w.visit_type.pk},
        per_patient=False,
    ),
    Route("visits-calendar", {G: STAFFISH}),
    Route("visits-worklist", {G: STAFFISH}),
    # /visits/book/: staff book for a patient; a patient gets their own booking page there
    # (issue #19 §2), and another patient's id answers 404.
    Route(
        "visits-book",
        {G: SCHEDULES | {SELF}, P: SCHEDULES | {SELF}},
        query=lambda w, t: {"patient": w.patients[t].pk},
        body=_book,
        per_patient=True,
    ),
    Route(
        "visits:self_book",
        {G: SCHEDULES | {SELF}, P: SCHEDULES | {SELF}},
        query=lambda w, t: {"patient": w.patients[t].pk},
        body=_book,
        per_patient=True,
    ),
    Route("visits:self_request", {P: frozenset({PATIENT})}, body=lambda w, t: {"note": "mornings"}),
    Route(
        "visits:self_cancel",
        {P: frozenset({SELF})},
        args=visit,
        body=lambda w, t: {"reason": "ill"},
    ),
    Route("visits:requests", {G: STAFFISH}),
    # The waiting list on the pages (issue #19 §5): a patient for themself, or whoever
    # schedules them; an offer is taken by the same.
    Route(
        "visits:waitlist_join",
        {P: SCHEDULES | {SELF}},
        body=lambda w, t: {"patient": w.patients[t].pk, "visit_type": w.visit_type.pk},
        per_patient=True,
    ),
    Route("visits:waitlist_leave", {P: SCHEDULES | {SELF}}, args=waitlist_entry),
    Route(
        "visits:waitlist_accept",
        {P: SCHEDULES | {SELF}},
        args=lambda w, t: {"pk": w.waitlist_offers[t].pk},
    ),
    # The time grid (issue #19 §4): as the calendar; a move is a visit's staff action.
    Route("visits:grid", {G: STAFFISH}),
    Route("visits:day_list", {G: STAFFISH}),
    Route(
        "visits:grid_move",
        {P: VISIT_STAFF},
        body=lambda w, t: {"visit": w.visits[t].pk, "minute": "x", "clinician": ""},
        per_patient=True,
    ),
    # Closed time (issue #19 §3): as clinic setup, on the visit's center.
    Route(
        "visits:closure_all",
        {P: frozenset({STAFF, ADMIN})},
        body=lambda w, t: {"action": "cancel", "reason": ""},
    ),
    Route(
        "visits:closure_move",
        {P: frozenset({CENTER_STAFF, ADMIN})},
        args=visit,
        body=lambda w, t: {"start": "not a time", "clinician": ""},
    ),
    Route(
        "visits:closure_cancel",
        {P: frozenset({CENTER_STAFF, ADMIN})},
        args=visit,
        body=lambda w, t: {"reason": ""},
    ),
    Route("visits:request_close", {P: SCHEDULES}, args=visit_request),
    Route(
        "visits-book-first",
        {P: SCHEDULES},
        body=lambda w, t: {"patient": w.patients[t].pk},
        per_patient=True,
    ),
    # Front desk (issue #19 §1): whoever schedules the patient logs outreach, sends invites.
    Route(
        "visits-outreach",
        {P: SCHEDULES},
        args=patient,
        body=lambda w, t: {"channel": "phone", "outcome": "no_answer"},
    ),
    Route("visits-invite", {P: SCHEDULES}, args=patient, body=lambda w, t: {"channel": ""}),
    # A clinician's request to book (issue #19): dismissed by whoever schedules the patient.
    Route("visits-booking-request-dismiss", {P: SCHEDULES}, args=booking_request),
    Route("visits-my-calendar", {G: PERSONS}),
    Route("visits-feed-settings", {G: PERSONS, P: PERSONS}),
    Route(  # a secret address: whoever holds it
        "visits-feed",
        {G: ANY},
        args=lambda w, t: {"token": w.feed_token},
        per_patient=False,
        variant="issued",
    ),
    Route(
        "visits-feed",
        {G: NOBODY},
        args=lambda w, t: {"token": "not-issued"},
        per_patient=False,
        variant="unknown",
    ),
    Route("visits-detail", {G: VISIT}, args=visit),
    Route(
        "visits-reschedule",
        {G: VISIT_STAFF, P: VISIT_STAFF},
        args=visit,
        body=lambda w, t: {"start": "not a time"},
    ),
    Route(
        "visits-action",
        {P: VISIT_STAFF},
        args=lambda w, t: {**visit(w, t), "name": "check-in"},
        variant="check-in",
    ),
    Route(
        "visits-action",
        {P: VISIT},
        args=lambda w, t: {**visit(w, t), "name": "cancel"},
        body=lambda w, t: {"reason": "ill"},
        variant="cancel",
    ),
    Route(
        "visits-action",
        {P: VISIT},
        args=lambda w, t: {**visit(w, t), "name": "request-reschedule"},
        body=lambda w, t: {"note": "later"},
        variant="request-reschedule",
    ),
    # --- consultations pages (issue #24): the patient and their care team; staff never ----
    Route("consultations-list", {G: frozenset({PATIENT, ENDO, ADMIN})}),  # threads / inbox
    Route(
        "consultations-ask",
        {G: frozenset({PATIENT}), P: frozenset({PATIENT})},
        body=lambda w, t: {"category": "glucose", "text": ""},
    ),
    Route(
        "consultations-detail",
        {G: CLINICAL, P: CLINICAL},
        args=consultation,
        body=lambda w, t: {"text": ""},
    ),
    Route(
        "consultations-assign",
        {P: frozenset({TEAM, ADMIN})},
        args=consultation,
        body=lambda w, t: {"to": ""},
    ),
    Route(
        "consultations-close",
        {P: frozenset({TEAM, ADMIN})},
        args=consultation,
        body=lambda w, t: {"outcome": ""},
    ),
    Route("consultations-book-visit", {P: frozenset({TEAM, ADMIN})}, args=consultation),
    Route("consultations-photo", {G: CLINICAL}, args=consultation_photo),
    Route(
        "consultations-templates",
        {G: frozenset({ENDO}), P: frozenset({ENDO})},
        body=lambda w, t: {"title": ""},
    ),
    Route(
        "medication-requests-new",
        {G: frozenset({PATIENT}), P: frozenset({PATIENT})},
        body=lambda w, t: {"medication": "", "quantity": ""},
    ),
    Route(  # already approved in the world: deciding again is a 409 (access granted)
        "medication-requests-detail",
        {G: CLINICAL, P: frozenset({TEAM, ADMIN})},
        args=medication_request,
        body=lambda w, t: {"decision": "approve"},
    ),
    Route("medication-requests-slip", {G: CLINICAL}, args=medication_request),
    # --- REST API: patients ------------------------------------------------------------------
    Route(
        "api-patients-list",
        {G: STAFFISH, P: STAFFISH},
        body=_new_patient,
        json=True,
    ),
    Route(
        "api-patients-detail",
        {G: SEES, "PATCH": SCHEDULES},
        args=patient,
        body=lambda w, t: {"phone": "+44 20 0000 0000"},
        json=True,
    ),
    Route("api-patients-metrics", {G: CLINICAL}, args=patient),
    # The whole record (fhir, zip) is the patient's and the admin's, as on the pages
    # (``accounts.access.get_patient_for_download``); csv is the readings table alone.
    Route(
        "api-patients-export",
        {G: CLINICAL},
        args=patient,
        query=lambda w, t: {"format": "csv"},
        variant="csv",
    ),
    Route(
        "api-patients-export",
        {G: frozenset({SELF, ADMIN})},
        args=patient,
        query=lambda w, t: {"format": "fhir"},
        variant="fhir",
    ),
    Route(
        "api-patients-export",
        {G: frozenset({SELF, ADMIN})},
        args=patient,
        query=lambda w, t: {"format": "zip"},
        variant="zip",
    ),
    Route("api-triage", {G: frozenset({ENDO, ADMIN})}),
    Route("api-audit", {G: frozenset({ADMIN})}),
    # --- REST API: readings, uploads, device tokens ------------------------------------------
    Route(
        "api-patients-readings",
        {G: CLINICAL, P: CLINICAL | {UPLOAD_TOKEN}},
        args=patient,
        body=_readings,
        json=True,
    ),
    Route("api-patients-uploads", {G: SEES, P: SEES}, args=patient, body=_upload_file),
    Route("api-uploads-detail", {G: SEES}, args=upload),
    Route(
        "api-patients-device-tokens",
        {G: CLINICAL, P: CLINICAL},
        args=patient,
        body=lambda w, t: {"name": "pump", "scope": "upload"},
        json=True,
        variant="upload scope",
    ),
    Route(
        "api-patients-device-tokens",
        {G: CLINICAL, P: frozenset({SELF})},
        args=patient,
        body=lambda w, t: {"name": "follower", "scope": "read", "grant_read": True},
        json=True,
        variant="read scope",
    ),  # only the patient grants reading
    Route("api-patients-device-tokens-revoke", {"DELETE": CLINICAL}, args=token),
    Route(
        "api-patients-fhir-submit-cgm-bundle",
        {P: CLINICAL | {UPLOAD_TOKEN}},
        args=patient,
        body=lambda w, t: {"resourceType": "Bundle", "type": "collection", "entry": []},
        json=True,
    ),
    # --- REST API: reports and care plans ----------------------------------------------------
    Route("api-patients-reports", {G: CLINICAL, P: frozenset({TEAM, ADMIN})}, args=patient),
    Route("api-reports-detail", {G: CLINICAL}, args=report),
    Route("api-reports-fhir", {G: CLINICAL}, args=report),
    Route("api-reports-suggestions", {G: PLAN_EDITORS}, args=report),
    Route(
        "api-suggestions-dismiss",
        {P: PLAN_EDITORS},
        args=suggestion,
        body=lambda w, t: {"reason": "access matrix"},
        json=True,
    ),
    Route(
        "api-patients-care-plan",
        {G: CLINICAL, P: PLAN_EDITORS},
        args=patient,
        body=lambda w, t: {"reason": "access matrix"},
        json=True,
    ),
    Route("api-patients-care-plan-versions", {G: CLINICAL}, args=patient),
    Route("api-patients-care-plan-fhir", {G: CLINICAL}, args=patient),
    # --- remote monitoring pages (issue #20): clinicians only; staff see nothing of it ---------
    Route("monitoring-alerts", {G: frozenset({ENDO, ADMIN})}),
    Route("monitoring-alerts-count", {G: frozenset({ENDO, ADMIN})}),
    Route(
        "monitoring-alert",
        {G: frozenset({TEAM, ADMIN}), P: frozenset({TEAM, ADMIN})},
        args=alert,
        body=lambda w, t: {"action": "acknowledge", "outcome": "no_action_needed", "note": "m"},
    ),
    Route(
        "monitoring-mute",
        {P: PLAN_EDITORS},
        args=patient,
        body=lambda w, t: {"kinds": ["high"], "hours": 4, "reason": "matrix"},
    ),
    Route(
        "patients-monitoring",  # the Alerts tab's enrol / thresholds / end control
        {P: PLAN_EDITORS},
        args=patient,
        body=lambda w, t: {"action": "unenrol"},
    ),
    # The on-call rota: the center's staff and admins set it; its clinicians read it.
    Route(
        "monitoring-rota",
        {G: STAFFISH, P: frozenset({STAFF, ADMIN})},
        body=lambda w, t: {"part": "lead", "lead-lead": ""},
    ),  # fmt: skip
    Route(
        "monitoring-rota-shift-remove",
        {P: frozenset({CENTER_STAFF, ADMIN})},
        args=shift,
        query=setup_center,
    ),
    # --- REST API: consent and remote monitoring (issue #20) ----------------------------------
    Route(
        "api-patients-consents",
        {P: frozenset({SELF})},  # only the patient decides
        args=patient,
        body=lambda w, t: {"topic": "remote_monitoring", "given": True},
        json=True,
    ),
    Route(
        "api-patients-monitoring",
        {G: CLINICAL, "PUT": PLAN_EDITORS},  # staff see nothing of it; the team enrols
        args=patient,
        body=lambda w, t: {"enrolled": False},
        json=True,
    ),
    # Alerts: endocrinologists (their patients' and those sent to them) and admins only.
    Route("api-alerts-list", {G: frozenset({ENDO, ADMIN})}),
    Route("api-alerts-detail", {G: frozenset({TEAM, ADMIN})}, args=alert),
    Route(
        "api-alerts-acknowledge",
        {P: frozenset({TEAM, ADMIN})},
        args=alert,
        body=lambda w, t: {"note": "matrix", "outcome": "no_action_needed"},
        json=True,
    ),
    # --- REST API: visits ---------------------------------------------------------------------
    Route(
        "api-visits-list",
        {G: PERSONS, P: SCHEDULES | {SELF}},  # a patient books for themselves (issue #19)
        body=_visit_json,
        json=True,
        refusal_400="No such patient.",
        per_patient=True,
    ),
    Route(  # patients search their own care team's slots (issue #19 §7)
        "api-visits-slots",
        {G: PERSONS},
        query=lambda w, t: {"visit_type": w.visit_type.pk, "date": w.free_start.date().isoformat()},
    ),
    Route(
        "api-visits-slots",
        {G: SEES},
        query=lambda w, t: {
            "visit_type": w.visit_type.pk,
            "date": w.free_start.date().isoformat(),
            "patient": w.patients[t].pk,
        },
        per_patient=True,
        variant="patient",
    ),
    Route("api-visits-detail", {G: VISIT}, args=visit),
    Route(
        "api-visits-reschedule",
        {P: VISIT_STAFF},
        args=visit,
        body=lambda w, t: {"start": w.free_start.isoformat()},
        json=True,
    ),
    Route(
        "api-visits-cancel", {P: VISIT}, args=visit, body=lambda w, t: {"reason": "ill"}, json=True
    ),
    Route(
        "api-visits-request-reschedule",
        {P: VISIT},
        args=visit,
        body=lambda w, t: {"note": "later"},
        json=True,
    ),
    Route("api-visits-check-in", {P: VISIT_STAFF}, args=visit),
    Route("api-visits-no-show", {P: VISIT_STAFF}, args=visit),
    Route(
        "api-visits-complete",
        {P: VISIT_STAFF},
        args=visit,
        body=lambda w, t: {"checks_done": []},
        json=True,
    ),
    Route(  # results: the patient's clinical team (accounts.access.may_record_visit_results)
        "api-visits-complete",
        {P: frozenset({TEAM, ADMIN})},
        args=lambda w, t: {"pk": w.result_visits[t].pk},
        body=lambda w, t: {"checks_done": ["hba1c"], "hba1c_percent": "7.1"},
        json=True,
        variant="results",
    ),
    Route("api-patients-visits", {G: SEES}, args=patient),
    # Front desk (issue #19 §7): the worklist (not patients), a patient's outreach log.
    Route("api-visits-worklist", {G: STAFFISH}),
    Route("api-visits-booking-requests-dismiss", {P: SCHEDULES}, args=booking_request),
    # The waiting list (issue #19 §5): kept by whoever schedules the patient; an offer is
    # taken by the patient themself or by them.
    Route(
        "api-patients-waitlist",
        {G: SCHEDULES | {SELF}, P: SCHEDULES | {SELF}},
        args=patient,
        body=lambda w, t: {"visit_type": w.visit_type.pk},
        json=True,
    ),
    Route("api-waitlist-offers", {G: PERSONS}),
    Route(
        "api-waitlist-offers-accept",
        {P: SEES},
        args=lambda w, t: {"pk": w.waitlist_offers[t].pk},
    ),
    Route(
        "api-patients-outreach",
        {G: SCHEDULES, P: SCHEDULES},
        args=patient,
        body=lambda w, t: {"channel": "phone", "outcome": "no_answer"},
        json=True,
    ),
    Route("api-clinicians-list", {G: STAFFISH}),
    Route("api-visit-types-list", {G: PERSONS}),
    # --- REST API: consultations (issue #24 §5) -----------------------------------------------
    Route(
        "api-consultations-list",
        {G: frozenset({PATIENT, ENDO, ADMIN}), P: frozenset({PATIENT})},
        body=lambda w, t: {"category": "glucose", "text": ""},
        json=True,
    ),
    Route("api-consultations-detail", {G: CLINICAL}, args=consultation),
    Route(
        "api-consultations-messages",
        {P: CLINICAL},
        args=consultation,
        body=lambda w, t: {"text": ""},
        json=True,
    ),
    Route(
        "api-consultations-close",
        {P: frozenset({TEAM, ADMIN})},
        args=consultation,
        body=lambda w, t: {"outcome": "none"},
        json=True,
    ),
    Route(
        "api-patients-medication-requests",
        {P: frozenset({SELF})},
        args=patient,
        body=lambda w, t: {"medication": "not in the plan", "quantity": 1},
        json=True,
    ),
    Route(
        "api-medication-requests-decide",
        {P: frozenset({TEAM, ADMIN})},
        args=medication_request,
        body=lambda w, t: {"approved": True},
        json=True,
    ),
    # The schema is a document served by a DRF view: GET, HEAD and OPTIONS, signed in.
    Route("api-schema", {G: PERSONS, "HEAD": PERSONS, "OPTIONS": PERSONS}),
    Route("api-docs", {G: PERSONS}),
]
