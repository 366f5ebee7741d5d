"""Who may see what: the one place that decides.

- a patient sees only themself;
- an endocrinologist sees the patients assigned to them (the care team);
- staff see the patients of their care center, without clinical detail;
- nurses/diabetes educators and dietitians (clinicians who take visits) have staff's access:
  their center's patients for scheduling, their own schedule, no readings, metrics, reports
  or plans (``User.is_care_staff`` is true for them). Widen this only with a clinical review;
- an admin sees everything.

Visits follow the patient: a visit is visible to whoever may see its patient, and a clinician
also sees the visits booked with them (``visits.services.visits_visible_to``). Staff see that
a patient is "urgent" on the worklist, never why.

Every view and API endpoint starts with ``get_patient_for`` (or filters with
``patients_visible_to``); nothing else checks roles by hand.
"""

from django.db.models import QuerySet
from django.http import Http404

from accounts.models import AuditEvent, User
from patients.models import Patient


def patients_visible_to(user: User) -> QuerySet[Patient]:
    patients = Patient.objects.all()
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


def may_see_clinical(user: User, patient: Patient) -> bool:
    """Staff schedule visits; glucose data, reports and plans are for the clinical team."""
    if user.is_care_staff:
        return False
    return patients_visible_to(user).filter(pk=patient.pk).exists()


def may_edit_care_plan(user: User, patient: Patient) -> bool:
    return (user.is_endocrinologist or user.is_admin_role) and may_see_clinical(user, patient)


def get_patient_for(user: User, pk, *, clinical: bool = True) -> Patient:
    """The patient ``pk`` if ``user`` may see it, else 404 (existence is not leaked).

    With ``clinical=True`` (the default) staff are refused too: they see demographics
    and scheduling only. Clinical access by anyone but the patient is audited.
    """
    try:
        patient = patients_visible_to(user).get(pk=pk)
    except (Patient.DoesNotExist, ValueError, TypeError):
        raise Http404("No such patient.") from None
    if clinical and user.is_care_staff:
        raise Http404("No such patient.")
    return patient


def audit(user: User, patient: Patient | None, action: str, what: str) -> None:
    """Record a view or change of clinical data by anyone other than the patient themself."""
    if patient is not None and user.is_authenticated and patient.user_id == user.pk:
        return
    AuditEvent.objects.create(
        user=user if user.is_authenticated else None, patient=patient, action=action, what=what
    )
