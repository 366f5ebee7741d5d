from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_http_methods, require_safe

from accounts.access import patients_visible_to
from accounts.models import User
from patients.services import triage_rows


@login_required
@require_safe
def home(request):
    """Home by role: patients see their own page, clinicians triage, staff their center."""
    user = request.user
    if user.is_patient:
        patient = getattr(user, "patient", None)
        if patient is not None:
            return redirect("patients-detail", pk=patient.pk)
        return render(request, "accounts/home_patient_unlinked.html")
    if user.is_endocrinologist:
        return redirect("patients-list")
    patients = patients_visible_to(user)
    context = {"patient_count": patients.count()}
    if user.is_admin_role:
        context["rows"] = triage_rows(patients)[:10]
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
