from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_http_methods, require_safe

from accounts.access import patients_visible_to
from accounts.models import User


def patient_home(patient, request) -> dict:
    """The patient's home page, for a lay reader: their goals in words, lows first, what to do
    next, their latest report and the care team's message. No MRN, no clinician indices."""
    from care_plans.services import care_plan_current, next_visit_due
    from reports import wording
    from reports.services import patient_progress

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
        "next_visit": next_visit_due(patient) if plan else None,
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


class PreferencesForm(forms.ModelForm):
    class Meta:
        model = User
        fields = ["unit", "language"]
        labels = {"unit": _("Glucose unit"), "language": _("Language")}


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def preferences(request):
    form = PreferencesForm(request.POST or None, instance=request.user)
    if request.method == "POST" and form.is_valid():
        form.save()
        messages.success(request, _("Preferences saved."))
        response = redirect("preferences")
        if form.cleaned_data["language"]:
            response.set_cookie("django_language", form.cleaned_data["language"])
        return response
    return render(request, "accounts/preferences.html", {"form": form})
