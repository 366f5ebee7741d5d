"""Who may see what: the one place that decides.

- a patient sees only themself;
- an endocrinologist sees the patients assigned to them (the care team);
- staff see the patients of their care center, without clinical detail;
- nurses/diabetes educators and dietitians (clinicians who take visits) have staff's access:
  their center's patients for scheduling, their own schedule, no readings, metrics, reports
  or plans (``User.is_care_staff`` is true for them). Widen this only with a clinical review;
- an admin sees everything; ``/metrics`` (operational figures) is theirs and a scrape
  token's (``may_read_metrics``); ``/health/`` is anyone's (no patient data).

A patient's own copy of all their data ("download all my data", ``may_download_all``) is for
the patient and for an admin acting on their request, by the pages (``export.zip``,
``export.fhir.json``) and the API (``export/?format=fhir|zip``) alike: both ask
``get_patient_for_download``. The care team uses the readings table (``format=csv``, the
readings they see anyway) and the pages. A patient's consents are seen by everyone who sees
the patient (``workspace.views.patient_privacy``); only the patient changes them.

Visits follow the patient: a visit is visible to whoever may see its patient, and a clinician
also sees the visits booked with them (``visits.services.visits_visible_to``). Staff see that
a patient is "urgent" on the worklist, never why.

Remote-monitoring alerts (``alerts_visible_to``) are clinical and for clinicians: a
patient's endocrinologists, whoever an alert was sent to (the on-call clinician of the rota,
the center's lead), and admins. Staff, nurses, dietitians and patients see none of them (the
pages and API answer 403); the patient reads only whether they are enrolled.

Every view and API endpoint starts with ``get_patient_for`` (or filters with
``patients_visible_to``, or row by row with ``patient_visible``, the same rule); nothing else
checks roles by hand.
"""

from __future__ import annotations

import contextlib
import contextvars
import datetime as dt
from typing import TYPE_CHECKING

from django.apps import apps
from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db.models import BooleanField, Exists, OuterRef, Q, QuerySet, Value
from django.http import Http404
from django_otp import user_has_device

from accounts.models import AuditEvent, User

if TYPE_CHECKING:  # patients sits above accounts (it imports these rules): no runtime import
    from patients.models import Patient


def _patients() -> type[Patient]:
    """The Patient model, read through the app registry (the model layer), not imported."""
    return apps.get_model("patients", "Patient")


_client_ip: contextvars.ContextVar[str | None] = contextvars.ContextVar("client_ip", default=None)


def current_ip() -> str | None:
    """The address of the client whose request is being served (None outside a request)."""
    return _client_ip.get()


@contextlib.contextmanager
def client_ip(address: str | None):
    """Serve one request from ``address`` (``accounts.middleware.AuditMiddleware``)."""
    token = _client_ip.set(address)
    try:
        yield
    finally:
        _client_ip.reset(token)


def patients_visible_to(user: User) -> QuerySet[Patient]:
    patients = _patients().objects.all()
    if not user.is_authenticated or not user.is_active:
        return patients.none()
    if user.is_admin_role:
        return patients
    if user.is_endocrinologist:
        return patients.filter(endocrinologists=user)
    if user.is_care_staff:
        if user.care_center_id is None:
            return patients.none()
        return patients.filter(care_center_id=user.care_center_id)
    return patients.filter(user=user)


def patient_visible(user: User, patient_id: str) -> Exists | Value:
    """Whether ``patients_visible_to(user)`` holds the patient whose id is the outer query's
    field ``patient_id`` (``"patient_id"``, ``"report__patient_id"``): a boolean expression
    for ``filter()`` or ``annotate()`` of another model, the same rule row by row.

    ``Report.objects.filter(patient_visible(user, "patient_id"))`` holds exactly the rows of
    ``Report.objects.filter(patient__in=patients_visible_to(user))``. For an endocrinologist it
    asks the care-team table alone, by its unique (patient, user) index: no subquery of every
    patient on the team and no join to the patients (the unread badge on every page; #23).
    A clinician taken off a care team has no row there, so sees nothing of that patient.

    >>> Report.objects.filter(patient_visible(user, "patient_id"))  # doctest: +SKIP
    """
    shape = visibility_shape(user)
    if shape is not None:
        return patient_visible_by_shape(shape, user.pk, patient_id)
    return Exists(patients_visible_to(user).filter(pk=OuterRef(patient_id)))


def visibility_shape(user: User) -> str | None:
    """The form ``patient_visible(user, ...)`` takes when it depends on nothing of the user
    but their id: ``"none"`` (signed out or inactive), ``"all"`` (admins), ``"team"``
    (endocrinologists: their care-team rows); None for every other user (a query of the
    patients they may see). A read compiled once per form (``common.compiled``) is built
    with ``patient_visible_by_shape``."""
    if not user.is_authenticated or not user.is_active:
        return "none"
    if user.is_admin_role:
        return "all"
    if user.is_endocrinologist:
        return "team"
    return None


def patient_visible_by_shape(shape: str, user_id: int, patient_id: str) -> Exists | Value:
    """``patient_visible`` of the user ``user_id`` whose ``visibility_shape`` is ``shape``."""
    if shape == "none":
        return Value(False, output_field=BooleanField())
    if shape == "all":
        return Value(True, output_field=BooleanField())
    if shape != "team":
        raise ValueError(f"no visibility shape {shape!r}")
    team = _patients().endocrinologists.through.objects.filter(
        patient_id=OuterRef(patient_id), user_id=user_id
    )
    return Exists(team)


def may_use_alerts(user: User) -> bool:
    """The alert inbox and API: endocrinologists and admins (a role test; which alerts is
    ``alerts_visible_to``)."""
    return (
        user.is_authenticated and user.is_active and (user.is_endocrinologist or user.is_admin_role)
    )


def alerts_visible_to(user: User) -> QuerySet:
    """Alerts of the patients a clinician is on the care team of, plus those sent to them
    (on call, escalation, lead); every alert for an admin; none for anyone else."""
    alerts = apps.get_model("monitoring", "Alert").objects.all()
    if not may_use_alerts(user):
        return alerts.none()
    if user.is_admin_role:
        return alerts
    mine = Q(patient__in=patients_visible_to(user)) | Q(
        pk__in=apps.get_model("monitoring", "AlertNotification")
        .objects.filter(recipient=user)
        .values("alert_id")
    )
    return alerts.filter(mine)


def needs_second_factor(user: User) -> bool:
    """Clinicians, staff and admins when ``REQUIRE_2FA`` is on; anyone who set one up."""
    if settings.REQUIRE_2FA and (not user.is_patient or user.is_superuser):
        return True
    return user_has_device(user)


def may_see_clinical(user: User, patient: Patient) -> bool:
    """Staff schedule visits; glucose data, reports and plans are for the clinical team."""
    if user.is_care_staff:
        return False
    return patients_visible_to(user).filter(pk=patient.pk).exists()


def may_download_all(user: User, patient: Patient) -> bool:
    """The full export (every table, the access log, report PDFs): the patient, or an admin."""
    return (patient.user_id is not None and patient.user_id == user.pk) or user.is_admin_role


def may_record_visit_results(user: User, patient: Patient) -> bool:
    """A visit's clinical results (HbA1c, eye, kidney and foot checks) are written by whoever
    may see the patient's clinical data, patients aside: their endocrinologists and admins.
    Anyone else who runs the visit — staff, a nurse, a clinician it is booked with who is not
    on the care team — records which checks were done. The page and the API both ask here."""
    return not user.is_patient and may_see_clinical(user, patient)


def may_read_metrics(user: User) -> bool:
    """``/metrics`` (operational figures, no patient data): admins by their session; a
    Prometheus server by the scrape token (``diabetes_center.operations``). ``/health/`` is
    for anyone: it says only whether the pipeline works."""
    return user.is_authenticated and user.is_active and user.is_admin_role


def may_edit_care_plan(user: User, patient: Patient) -> bool:
    return (user.is_endocrinologist or user.is_admin_role) and may_see_clinical(user, patient)


def may_see_plan_suggestions(user: User, patient: Patient) -> bool:
    """A report's plan suggestions (and dismissing them) are for the clinicians who may
    revise the plan: never the patient (they see only the plan a clinician confirmed), never
    staff (no clinical access)."""
    return may_edit_care_plan(user, patient)


def get_patient_for(user: User, pk, *, clinical: bool = True) -> Patient:
    """The patient ``pk`` if ``user`` may see it, else 404 (existence is not leaked).

    With ``clinical=True`` (the default) staff are refused too: they see demographics
    and scheduling only. A refusal is audited (outcome "denied"); clinical access by anyone
    but the patient is audited by the view that shows it.
    """
    try:
        patient = patients_visible_to(user).get(pk=pk)
    except (_patients().DoesNotExist, ValueError, TypeError):
        _audit_refusal(user, pk)
        raise Http404("No such patient.") from None
    if clinical and user.is_care_staff:
        _audit_refusal(user, pk)
        raise Http404("No such patient.")
    return patient


def get_patient_for_download(user: User, pk, *, whole_record: bool) -> Patient:
    """The patient ``pk`` if ``user`` may download their data, the one rule of every export.

    ``whole_record``: every table, the access log and the report PDFs (the ZIP and the FHIR
    Bundle) — the patient or an admin (``may_download_all``); anyone else who sees the patient
    is refused with 403, who does not with 404. Otherwise the readings table alone: whoever
    sees the patient's clinical data (``get_patient_for``).
    """
    if not whole_record:
        return get_patient_for(user, pk)
    patient = get_patient_for(user, pk, clinical=False)
    if not may_download_all(user, patient):
        raise PermissionDenied("All of a patient's data is for the patient and administrators.")
    return patient


def _audit_refusal(user: User, pk) -> None:
    exists = isinstance(pk, int) or (isinstance(pk, str) and pk.isdigit())
    patient_id = int(pk) if exists and _patients().objects.filter(pk=pk).exists() else None
    audit(
        user,
        None,
        AuditEvent.Action.DENIED,
        f"patient {str(pk)[:40]}",
        outcome=AuditEvent.Outcome.DENIED,
        patient_id=patient_id,
    )


def audit(
    user,
    patient: Patient | None,
    action: str,
    what: str,
    *,
    outcome: str = AuditEvent.Outcome.OK,
    patient_id: int | None = None,
    username: str | None = None,
    role: str | None = None,
    even_own: bool = False,
) -> None:
    """Record who did what to which patient's data, when, from where, and with what outcome.

    ``user`` is a person, a device-token principal (``readings.auth.DeviceUser``) or None /
    anonymous; then ``username`` and ``role`` say who it was (the name tried at a failed
    sign-in; the Nightscout credential and role "device"). A patient's own successful use of
    their data is not recorded, unless ``even_own`` (their full export). The client address
    comes from the request being served (``client_ip``).

    >>> audit(request.user, patient, "view", "report 12")  # doctest: +SKIP
    """
    if (
        not even_own
        and patient is not None
        and outcome == AuditEvent.Outcome.OK
        and getattr(user, "is_authenticated", False)
        and user.pk is not None
        and patient.user_id == user.pk
    ):
        return
    who = _who(user, username)
    if role is not None and who["user"] is None:
        who["role"] = role
    AuditEvent.objects.create(
        **who,
        patient_id=patient.pk if patient is not None else patient_id,
        action=action,
        what=what[:200],
        outcome=outcome,
        ip=current_ip(),
    )


def record_accesses(patient: Patient, *, since: dt.date | None = None):
    """Who else saw, changed, exported or tried to open ``patient``'s data (newest first).

    The answer to "who saw this patient's data this month": ``since`` = the 1st of the month.
    """
    events = AuditEvent.objects.filter(patient_id=patient.pk).order_by("-at", "-pk")
    if patient.user_id is not None:
        events = events.exclude(user_id=patient.user_id, outcome=AuditEvent.Outcome.OK)
    if since is not None:
        start = dt.datetime.combine(since, dt.time.min, tzinfo=dt.UTC)
        events = events.filter(at__gte=start)
    return events


def audit_many(user, patient_ids, action: str, what: str) -> None:
    """One "view" row per patient shown in a list (triage, unread reports): the answer to
    "who saw this patient's data" must include lists, not only detail pages."""
    who = _who(user, None)
    ip = current_ip()
    AuditEvent.objects.bulk_create(
        AuditEvent(**who, patient_id=pk, action=action, what=what[:200], ip=ip)
        for pk in dict.fromkeys(patient_ids)
    )


def _who(user, username: str | None) -> dict:
    if getattr(user, "is_device", False):
        token = user.token
        return {
            "user": None,
            "username": f"device token {token.pk}: {token.name}"[:150],
            "role": "device",
        }
    if user is not None and getattr(user, "is_authenticated", False):
        return {"user": user, "username": user.username, "role": user.role}
    return {"user": None, "username": (username or "")[:150], "role": "anonymous"}
