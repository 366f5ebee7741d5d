"""Care-plan pages: the plan (read by role, edited by the patient's endocrinologists with a
diff confirmation before saving), its htmx fragments, the history and the compare view."""

import json

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_safe
from django_htmx.http import HttpResponseClientRedirect

from accounts.access import audit, get_patient_for, may_edit_care_plan, may_see_clinical
from care_plans import forms as f
from care_plans.models import CarePlanVersion
from care_plans.services import (
    care_plan_clean,
    care_plan_current,
    care_plan_default_content,
    care_plan_diff,
    care_plan_revise,
    nothing_changed_message,
    plan_goal_status,
    prompt_resolve,
    report_link_error,
    review_due,
    targets_from_preset,
    titration_warnings,
)
from glycemia.targets import PRESETS
from readings.windows import rollup_metrics, window_dates


def report_url(report_id: int | None) -> str | None:
    if report_id is None:
        return None
    try:
        return reverse("reports-detail", args=[report_id])
    except NoReverseMatch:
        return f"/reports/{report_id}/"


def _report_id(value) -> int | None:
    try:
        return int(value) if value not in (None, "") else None
    except (TypeError, ValueError):
        return None


def _base_content(patient, current) -> dict:
    """The content the editor starts from: the current version's, else the default plan. A
    value typed as this content showed it keeps this content's value (``f.form_content``)."""
    return current.content if current else care_plan_default_content(patient=patient)


def _editor_forms(request, patient, current, *, data=None, content=None, prompt=None):
    """The plan form and its two formsets, bound to ``data`` or filled from ``content`` (or,
    when something prompted the change and proposes one, the plan with that change)."""
    if data is not None:
        unit = data.get("unit") if data.get("unit") in ("mg/dL", "mmol/L") else "mg/dL"
        return (
            f.CarePlanForm(data),
            f.GoalFormSet(data, prefix="goal"),
            f.MedicationFormSet(data, prefix="med", form_kwargs={"unit": unit}),
        )
    unit = request.GET.get("unit") or getattr(request.user, "unit", "mg/dL")
    unit = unit if unit in ("mg/dL", "mmol/L") else "mg/dL"
    if content is None:
        content = _base_content(patient, current)
        if prompt is not None and hasattr(prompt, "plan_change"):
            # Prefilled with the proposed change; still the clinician's reason and confirmation.
            content = prompt.plan_change(json.loads(json.dumps(content)))
    initial, goals, meds = f.content_initial(content, unit)
    preset = request.GET.get("preset")
    if preset in PRESETS:
        targets, goals = f.preset_initial(preset, unit)
        initial.update(targets)
    return (
        f.CarePlanForm(initial=initial),
        f.GoalFormSet(initial=goals, prefix="goal"),
        f.MedicationFormSet(initial=meds, prefix="med", form_kwargs={"unit": unit}),
    )


def _page_context(request, patient, current):
    clinical = may_see_clinical(request.user, patient)
    context = {
        "patient": patient,
        "current": current,
        "clinical": clinical,
        "may_edit": may_edit_care_plan(request.user, patient),
        "report_id": _report_id(request.GET.get("report") or request.POST.get("report")),
    }
    token = request.GET.get("prompt") or request.POST.get("prompt")
    prompt = prompt_resolve(patient, token) if token and context["may_edit"] else None
    if prompt is not None:
        # What prompted the change (a suggestion, a consultation) names its report itself.
        context.update(prompt=prompt, prompt_token=token, report_id=None)
    context["review_due"], context["review_overdue"] = review_due(patient)
    if clinical and current is not None:
        context["responds_to_report_url"] = report_url(current.responds_to_report_id)
    if context["may_edit"]:
        start, end = window_dates()
        metrics = rollup_metrics([patient.pk], start=start, end=end).get(patient.pk)
        context["metrics"], context["window"] = metrics, (start, end)
        if metrics and current is not None:
            status = plan_goal_status(
                patient=patient,
                targets=current.content["targets"],
                metrics=metrics,
                start=start,
                end=end,
            )
            context["goal_status"] = status
            values = {g["key"]: g["value"] for g in status if g["value"] is not None}
            context["warnings"] = titration_warnings(current.content, {**metrics, **values})
    return context


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def care_plan_page(request, pk):
    """GET: the plan for this viewer. POST (editors): preview the diff, or confirm and save."""
    patient = get_patient_for(request.user, pk, clinical=False)
    current = care_plan_current(patient=patient)
    context = _page_context(request, patient, current)
    if request.method == "POST":
        if not context["may_edit"]:
            raise PermissionDenied
        return _post(request, patient, current, context)
    if context["clinical"]:
        audit(request.user, patient, "view", "care plan")
    if context["may_edit"]:
        context["form"], context["goals"], context["meds"] = _editor_forms(
            request, patient, current, prompt=context.get("prompt")
        )
        context["targets"] = _editor_targets(request, patient, current)
    return render(request, "care_plans/plan.html", context)


def _editor_targets(request, patient, current, content=None) -> dict:
    """The targets (mg/dL) the editor starts from, for wording goals."""
    preset = request.GET.get("preset")
    if preset in PRESETS:
        return targets_from_preset(preset)
    content = content or _base_content(patient, current)
    return content["targets"]


def _post(request, patient, current, context):
    post = request.POST
    template = "care_plans/_editor.html" if request.htmx else "care_plans/plan.html"
    if "content_json" in post:
        try:
            content = json.loads(post["content_json"])
        except (ValueError, RecursionError):
            content = None
        if not isinstance(content, dict):
            raise Http404  # a confirmation that did not come from our preview
        if "confirm" in post:
            try:
                version = care_plan_revise(
                    patient=patient,
                    by=request.user,
                    reason=post.get("reason", ""),
                    content=content,
                    responds_to_report_id=context["report_id"],
                    prompted_by=context.get("prompt"),
                )
            except ValidationError as exc:
                # Validation moved under us (e.g. rules changed), or the plan is now the same
                # as the current version (NothingChanged): back to the form.
                messages.error(request, " ".join(exc.messages))
            else:
                audit(request.user, patient, "change", f"care plan v{version.number}")
                messages.success(
                    request, _("Care plan version %(n)s saved.") % {"n": version.number}
                )
                url = reverse("care-plans-detail", args=[patient.pk])
                return HttpResponseClientRedirect(url) if request.htmx else redirect(url)
        # "Back to editing": the form again, filled with what was previewed.
        context["form"], context["goals"], context["meds"] = _editor_forms(
            request, patient, current, content=content
        )
        context["form"].initial["reason"] = post.get("reason", "")
        context["targets"] = content.get("targets", {})
        return render(request, template, context)

    form, goals, meds = _editor_forms(request, patient, current, data=post)
    context.update(form=form, goals=goals, meds=meds)
    if not (form.is_valid() and goals.is_valid() and meds.is_valid()):
        return render(request, template, context, status=200)
    base = _base_content(patient, current)
    clean, errors = care_plan_clean(f.form_content(form, goals, meds, base))
    report_error = report_link_error(patient, context["report_id"])
    if report_error:
        errors["__all__"] = [report_error]
    if errors:
        f.attach_errors(errors, form, goals, meds)
        return render(request, template, context, status=200)
    diff = care_plan_diff(old=current, new=clean)
    if current is not None and not diff:
        form.add_error(None, nothing_changed_message(current.number))
        return render(request, template, context, status=200)
    context.update(
        confirm=True,
        diff=diff,
        content_json=json.dumps(clean),
        reason=form.cleaned_data["reason"],
        new_version=(current.number + 1) if current else 1,
    )
    template = "care_plans/_confirm.html" if request.htmx else "care_plans/plan.html"
    return render(request, template, context)


@login_required
@require_safe
def care_plan_targets(request, pk):
    """htmx fragment: the target range and goals of a preset, in the chosen unit."""
    patient = get_patient_for(request.user, pk)
    if not may_edit_care_plan(request.user, patient):
        raise PermissionDenied
    preset = request.GET.get("preset")
    if preset not in PRESETS:
        preset = "standard"
    unit = request.GET.get("unit") if request.GET.get("unit") in ("mg/dL", "mmol/L") else "mg/dL"
    if not request.htmx:
        url = reverse("care-plans-detail", args=[patient.pk])
        return redirect(f"{url}?preset={preset}&unit={unit}")
    base = _base_content(patient, care_plan_current(patient=patient))
    if f.unit_switched(request.GET) or request.GET.get("preset") == "custom":
        # Same targets, re-said in the new unit (or kept as typed for "custom").
        initial, goals, targets = f.targets_in(request.GET, unit, base)
        targets = {**targets, "goals": goals}
    else:
        initial, goals = f.preset_initial(preset, unit)
        targets = targets_from_preset(preset)
    context = {
        "form": f.CarePlanForm(initial=initial),
        "goals": f.GoalFormSet(initial=goals, prefix="goal"),
        "patient": patient,
        "targets": targets,
        "converted": f.correction_factors_in(request.GET, unit, base),
    }
    return render(request, "care_plans/_targets_fields.html", context)


@login_required
@require_safe
def care_plan_medication_row(request, pk):
    """htmx fragment: one empty medication row, and the formset's new TOTAL_FORMS (oob)."""
    patient = get_patient_for(request.user, pk)
    if not may_edit_care_plan(request.user, patient):
        raise PermissionDenied
    try:
        index = max(0, min(int(request.GET.get("med-TOTAL_FORMS", "0")), 50))
    except ValueError:
        index = 0
    unit = request.GET.get("unit") if request.GET.get("unit") in ("mg/dL", "mmol/L") else "mg/dL"
    formset = f.MedicationFormSet(prefix="med", form_kwargs={"unit": unit})
    context = {"med": formset._construct_form(index), "total": index + 1}
    return render(request, "care_plans/_medication_row.html", context)


@login_required
@require_safe
def care_plan_history(request, pk):
    patient = get_patient_for(request.user, pk)
    audit(request.user, patient, "view", "care plan history")
    versions = list(
        CarePlanVersion.objects.filter(plan__patient=patient)
        .select_related("created_by")
        .order_by("-number")
    )
    for version in versions:
        version.report_url = report_url(version.responds_to_report_id)
    context = {
        "patient": patient,
        "versions": versions,
        "may_edit": may_edit_care_plan(request.user, patient),
    }
    return render(request, "care_plans/history.html", context)


@login_required
@require_safe
def care_plan_compare(request, pk):
    """Changes from version ``a`` to version ``b`` (``?a=1&b=3``)."""
    patient = get_patient_for(request.user, pk)
    versions = CarePlanVersion.objects.filter(plan__patient=patient).select_related("created_by")
    try:
        a = versions.get(number=int(request.GET.get("a", "")))
        b = versions.get(number=int(request.GET.get("b", "")))
    except (ValueError, CarePlanVersion.DoesNotExist):
        raise Http404("No such versions.") from None
    audit(request.user, patient, "view", f"care plan v{a.number} vs v{b.number}")
    context = {
        "patient": patient,
        "a": a,
        "b": b,
        "diff": care_plan_diff(old=a, new=b),
        "numbers": list(versions.order_by("number").values_list("number", flat=True)),
    }
    return render(request, "care_plans/compare.html", context)
