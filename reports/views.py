"""Report pages: the AGP-style report, its PDF, the clinician's note, "Generate now", and the
unread list. Every view starts with a permission-checked lookup through ``accounts.access``."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import prefetch_related_objects
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST, require_safe

from accounts import display as display_layer
from accounts.access import (
    audit,
    audit_many,
    get_patient_for,
    may_see_plan_suggestions,
    patient_visible,
    patient_visible_by_shape,
    visibility_shape,
)
from common.compiled import CompiledRead
from common.http import download_disposition
from glycemia import display
from reports import figures, wording
from reports.models import Report, Suggestion, SuggestionStateError
from reports.outcomes import outcomes_shown_on
from reports.services import (
    notifications_by_risk,
    notifications_mark_read,
    report_generate,
    unread_counts,
)
from reports.suggestion_wording import outcome_rows, suggestion_rows
from reports.suggestions import (
    suggestion_dismiss,
    suggestions_of,
    versions_prompted_by_report,
)

# ``report_for``'s query for an endocrinologist, whose visibility is one query with their id
# (``visibility_shape``): compiled once (``common.compiled``; building it was ~1 ms of each
# report page, #23).
_REPORT_FOR_TEAM = CompiledRead(
    lambda pk, user_id: (
        Report.objects.select_related("patient")
        .annotate(patient_visible=patient_visible_by_shape("team", user_id, "patient_id"))
        .filter(pk=pk)
        .order_by("pk")[:1]
    ),
    kinds=(int, int),
)


def report_for(user, pk) -> Report:
    """The report ``pk`` if ``user`` may see its patient's clinical data, else 404.

    One query: the report, its patient, and whether ``patients_visible_to(user)`` holds that
    patient (``patient_visible``), so a page need not fetch the patient a second time.
    Whoever may not see it (or is staff) goes through ``get_patient_for``, which answers 404
    and audits the refusal as before.
    """
    if visibility_shape(user) == "team":
        report = _REPORT_FOR_TEAM.first(pk, user.pk)
        if report is None:
            raise Http404("No Report matches the given query.")
    else:
        reports = Report.objects.select_related("patient")
        reports = reports.annotate(patient_visible=patient_visible(user, "patient_id"))
        report = get_object_or_404(reports, pk=pk)
    if user.is_care_staff or not report.patient_visible:
        get_patient_for(user, report.patient_id)  # 404 for outsiders and staff
    return report


def may_write_note(user, report: Report) -> bool:
    return user.is_endocrinologist and report.patient.endocrinologists.filter(pk=user.pk).exists()


def _care_plan_link(report: Report):
    """(number, url) of the care plan version in force, if the care_plans app has pages."""
    if report.care_plan_version_number is None:
        return None
    from django.urls import NoReverseMatch, reverse

    try:
        url = reverse("care-plans-detail", args=[report.patient_id])
    except NoReverseMatch:
        url = f"/patients/{report.patient_id}/care-plan/"
    return {"number": report.care_plan_version_number, "url": url}


def _permissions_after_lookup(user, report: Report) -> dict:
    """What ``user`` may do with a report that ``report_for`` just let them see, without the
    two queries of asking again: ``get_patient_for`` already proved that an endocrinologist
    is on the patient's team and that an admin or endocrinologist may see its clinical data.
    A superuser who is also an endocrinologist sees every patient, so for them team membership
    is still asked."""
    on_team = user.is_endocrinologist and not user.is_admin_role
    return {
        "may_write_note": True if on_team else may_write_note(user, report),
        "may_revise_plan": user.is_endocrinologist or user.is_admin_role,
    }


def report_context(report: Report, user, unit: str) -> dict:
    """The report page's context. Call it only after ``report_for(user, ...)``."""
    targets = report.targets or {}
    report_figures = figures.report_figures(report, unit=unit)
    return {
        "report": report,
        "patient": report.patient,
        "m": report.metrics,
        "goals": wording.goal_rows(report, unit),
        "legend": wording.band_legend(report, unit),
        "events": wording.event_rows(report),
        "zone": wording.zone_text(report),
        "made_local": wording.display.local_time(report.created_at, report.patient.timezone),
        "sufficiency": wording.sufficiency_of(report),
        "warnings": wording.report_warnings(report, unit),
        "shown": wording.metric_texts(report, unit),
        "shown_to_patient": user.is_patient,
        "has_cv_goal": any(g["key"] == "cv_percent" for g in report.goals),
        "tight_label": display_layer.tight_range_label(unit),
        "targets_label": display_layer.targets_label(targets),
        "targets": targets,
        "patterns": [{**f, "wording": wording.pattern_text(f, unit)} for f in report.patterns],
        "comparison": wording.comparison_rows(report, unit),
        "comparison_verdict": wording.comparison_verdict(report, unit),
        "figures": report_figures,
        "figures_script": figures.figures_script(report_figures, "report-figures"),
        "care_plan": _care_plan_link(report),
        **_permissions_after_lookup(user, report),
        "band_labels": figures.band_labels(),
        "band_colours": figures.COLOURS,
        "meal_tags": [
            (figures.meal_tag_label(tag), row)
            for tag, row in (report.metrics.get("by_meal_tag") or {}).items()
            if tag in ("bedtime", "untagged")
        ],
        "meter": None if report.is_cgm else wording.meter_summary(report, unit),
        **_suggestions_context(report, user, unit, looked_up=True),
    }


def _suggestions_context(report: Report, user, unit: str, *, looked_up: bool = False) -> dict:
    """The report's plan suggestions and the plan versions it prompted: for the patient's
    clinicians only (``may_see_plan_suggestions``), never the patient or staff.

    ``looked_up``: ``report_for(user, ...)`` just let ``user`` see the report, which is what
    ``may_see_plan_suggestions`` asks beyond the role (clinical access, no staff), so the role
    answers without asking the database again."""
    if user.is_patient:
        return {"suggestions": None, "prompted_versions": [], "outcomes": []}
    if looked_up:
        allowed = user.is_endocrinologist or user.is_admin_role
    else:
        allowed = may_see_plan_suggestions(user, report.patient)
    if not allowed:
        return {"suggestions": None, "prompted_versions": [], "outcomes": []}
    from care_plans.models import CarePlanVersion
    from care_plans.services import care_plan_version

    version = care_plan_version(report.care_plan_version_id)
    content = version.content if version is not None else {}
    # Deciders prefetched, not joined, and only when one is decided: most suggestions are
    # open, and a join to the user table costs every page, as does Django building even an
    # empty prefetch's query (~0.3 ms; #23).
    suggestions = suggestions_of(report)
    if any(s.decided_by_id is not None for s in suggestions):
        prefetch_related_objects(suggestions, "decided_by")
    rows = suggestion_rows(report, suggestions, unit, content)
    current = None  # the plan as it is now: asked only when a row proposes a change
    for row in rows:
        # A change whose "from" the plan no longer holds (changed since the report) is not
        # offered: the editor would start from a plan it does not apply to.
        if row["s"].proposes_change and current is None:
            current = CarePlanVersion.objects.filter(plan__patient_id=report.patient_id)
            current = current.order_by("-number").values_list("content", flat=True).first()
            current = current or {}
        row["stale"] = row["s"].proposes_change and not row["s"].applies_to(current)
        row["may_use"] = row["may_use"] and not row["stale"]
    return {
        "suggestions": rows,
        "prompted_versions": versions_prompted_by_report(report),
        "outcomes": outcome_rows(outcomes_shown_on(report), unit),
    }


@login_required
@require_safe
def report_detail(request, pk):
    """The report. Reading it changes nothing: "mark as read" is its own POST."""
    report = report_for(request.user, pk)
    audit(request.user, report.patient, "view", f"report {report.pk}")
    unit = request.GET.get("unit") or getattr(request.user, "unit", "mg/dL")
    unit = unit if unit in ("mg/dL", "mmol/L") else "mg/dL"
    context = report_context(report, request.user, unit)
    context.update(_unread(report, request.user))
    return render(request, "reports/detail.html", context)


def _unread(report: Report, user) -> dict:
    """Whether the report is on the user's unread list, and (for the menu's badge,
    ``unread_reports_count``) how many reports are: one query for both. ``report_for`` let
    ``user`` see the report's patient, so its notification is among
    ``notifications_unread(user)`` whenever it is unread."""
    total, this = unread_counts(user, report.pk)
    return {"unread": this > 0, "unread_reports_total": total}


@login_required
@require_POST
def report_mark_read(request, pk):
    """Take the report off the signed-in clinician's unread list."""
    report = report_for(request.user, pk)
    notifications_mark_read(report=report, user=request.user)
    if request.htmx:
        return render(request, "reports/_mark_read.html", {"report": report, "unread": False})
    return redirect("reports-detail", pk=report.pk)


@login_required
@require_safe
def report_pdf(request, pk):
    from reports.pdf import report_pdf_bytes

    report = report_for(request.user, pk)
    audit(request.user, report.patient, "export", f"report {report.pk} PDF")
    unit = request.GET.get("unit") or getattr(request.user, "unit", "mg/dL")
    unit = unit if unit in ("mg/dL", "mmol/L") else "mg/dL"
    pdf = report_pdf_bytes(report, unit=unit, for_patient=request.user.is_patient)
    response = HttpResponse(pdf, content_type="application/pdf")
    name = f"report-{report.patient.mrn}-{report.period_end:%Y%m%d}.pdf"
    response["Content-Disposition"] = download_disposition(name, inline=True)
    return response


def _unit(request) -> str:
    unit = request.GET.get("unit") or getattr(request.user, "unit", "mg/dL")
    return unit if unit in ("mg/dL", "mmol/L") else "mg/dL"


@login_required
@require_POST
def report_note(request, pk):
    """The clinician's note: the one part of a report that changes after it is made."""
    report = report_for(request.user, pk)
    if not may_write_note(request.user, report):
        raise PermissionDenied
    if "note" in request.POST:
        report.note_set(text=request.POST["note"][:5000], by=request.user)
        audit(request.user, report.patient, "change", f"report {report.pk} note")
    if "message" in request.POST:
        report.message_set(text=request.POST["message"][:5000], by=request.user)
        audit(request.user, report.patient, "change", f"report {report.pk} message to patient")
    if request.htmx:
        context = {"report": report, "may_write_note": True, "shown_to_patient": False}
        return render(request, "reports/_note.html", context)
    messages.success(request, _("Note saved."))
    return redirect("reports-detail", pk=report.pk)


@login_required
@require_POST
def suggestion_dismiss_page(request, pk):
    """Dismiss a plan suggestion with the clinician's reason, then back to its report."""
    suggestion = get_object_or_404(Suggestion.objects.select_related("report__patient"), pk=pk)
    report = report_for(request.user, suggestion.report_id)
    if not may_see_plan_suggestions(request.user, report.patient):
        raise PermissionDenied
    reason = request.POST.get("reason", "")
    try:
        suggestion_dismiss(suggestion=suggestion, by=request.user, reason=reason)
    except ValueError:
        messages.error(request, _("Say why the suggestion is dismissed."))
    except SuggestionStateError:
        messages.error(request, _("This suggestion was already decided."))
    else:
        messages.success(request, _("Suggestion dismissed."))
    url = reverse("reports-detail", args=[report.pk])
    return redirect(f"{url}#suggestion-{suggestion.pk}")


@login_required
@require_POST
def report_generate_now(request, patient_pk):
    """Clinicians: make the report for the period ending yesterday now (or open it)."""
    patient = get_patient_for(request.user, patient_pk)
    if not (request.user.is_endocrinologist or request.user.is_admin_role):
        raise PermissionDenied
    report = report_generate(patient_id=patient.pk)
    audit(request.user, patient, "create", "report")
    if report is None:
        messages.error(request, _("No readings in the report period; no report was made."))
        return redirect("patients-detail", pk=patient.pk)
    return redirect("reports-detail", pk=report.pk)


@login_required
@require_safe
def reports_unread(request):
    if request.user.is_patient or request.user.is_care_staff:
        raise Http404
    notes = notifications_by_risk(request.user)
    for note in notes:
        note.goal_labels = [
            display_layer.goal_label(key, note.report.targets or {}, _unit(request))
            if not key.endswith("_mean_mg_dl")
            else wording.meal_words(key)
            for key in note.risk["missed"]
        ]
    audit_many(request.user, [n.report.patient_id for n in notes], "view", "unread reports list")
    very_low = display.glucose(54, _unit(request))
    return render(request, "reports/unread.html", {"notifications": notes, "very_low": very_low})
