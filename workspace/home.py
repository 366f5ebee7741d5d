"""Home by role (``/``): the patient's own page composes reports, care plans, visits and
consent, so it lives on the top floor; clinicians go to triage, staff to their center."""

from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.views.decorators.http import require_safe

from accounts.access import patients_visible_to
from care_plans.services import care_plan_current
from consultations.services import unread_answers
from patients.consent import consent_rows
from reports import wording
from reports.services import patient_progress
from visits.services import follow_up_due
from visits.services.selfbook import booking_prompt
from workspace.alerts import watch_summary


def patient_home(patient, request) -> dict:
    """The patient's home page, for a lay reader: their goals in words, lows first, what to do
    next, their latest report and the care team's message. No MRN, no clinician indices."""
    unit = request.GET.get("unit") or getattr(request.user, "unit", "mg/dL")
    unit = unit if unit in ("mg/dL", "mmol/L") else "mg/dL"
    progress = patient_progress(patient=patient)
    plan = care_plan_current(patient=patient)
    targets = progress["targets"]
    return {
        "patient": patient,
        "progress": progress,
        "goals": wording.lay_goal_rows(progress["goals"], targets, unit),
        "meter_goals": wording.meter_rows(progress["goals"], unit),
        "meter_per_day": (progress["meter"] or {}).get("readings_per_day"),
        "plan": plan,
        "schedule": ((plan.content.get("monitoring") or {}) if plan else {}),
        "follow_up": follow_up_due(patient),  # the staff worklist's date
        "book_follow_up": booking_prompt(patient),  # issue #19 §2
        "consents": consent_rows(patient),
        "watch": watch_summary(patient),  # remote monitoring: enrolled, when the clinic watches
        "consultations_unread": unread_answers(patient),
        "target_range": wording.display.glucose_range(
            targets.get("range_low", 70), targets.get("range_high", 180), unit
        ),
    }


@login_required
@require_safe
def home(request):
    """Home by role: patients see their own page, clinicians triage, staff their center."""
    user = request.user
    if user.is_patient:
        patient = getattr(user, "patient", None)
        if patient is not None:
            return render(request, "accounts/home_patient.html", patient_home(patient, request))
        return render(request, "accounts/home_patient_unlinked.html")
    if user.is_endocrinologist:
        return redirect("patients-list")
    patients = patients_visible_to(user)
    context = {"patient_count": patients.count()}
    if user.is_admin_role:
        return render(request, "accounts/home_admin.html", context)
    context["patients"] = patients.order_by("name")[:20]
    return render(request, "accounts/home_staff.html", context)
