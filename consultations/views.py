"""Consultation pages: the patient's threads and ask page, the clinician's inbox and studio,
photos (served only through an access check), reply templates, medication requests and the
request slip.

Each view: method decorator → permission-checked lookup (``consultation_for``,
``get_patient_for``) → input → service → render. A role that may never use a page gets 403;
an object outside one's view 404.
"""

from __future__ import annotations

import datetime as dt

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import FileResponse, Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import get_language_info, gettext_noop
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from accounts.access import alerts_visible_to, audit, may_edit_care_plan
from accounts.models import AuditEvent, User
from care_plans.services import care_plan_current, targets_of_version
from consultations import services
from consultations.models import (
    Consultation,
    MedicationRequest,
    Outcome,
    Photo,
    ReplyTemplate,
)
from consultations.photos import PHOTO_MAX_BYTES, PHOTOS_PER_MESSAGE
from consultations.services import ConsultationError

PAGE = ["GET", "HEAD", "POST"]

# Symptoms that need emergency services, not a message (the ask page says so before sending).
EMERGENCY_SIGNS = (
    gettext_noop(
        "A low that does not come up after treatment, or confusion, fainting or a seizure."
    ),
    gettext_noop(
        "Vomiting that will not stop, deep fast breathing, or a fruity smell on the breath "
        "(ketoacidosis)."
    ),
    gettext_noop("Chest pain, sudden weakness of the face, arm or leg, or trouble speaking."),
    gettext_noop("High glucose with ketones, drowsiness or severe thirst."),
)


def _own_patient(user):
    """The signed-in patient's record; a role that never asks answers 403."""
    if not user.is_patient:
        raise PermissionDenied("Patients ask their care team here.")
    patient = getattr(user, "patient", None)
    if patient is None:
        raise Http404("No patient record for this account.")
    return patient


def _unit(request) -> str:
    unit = request.GET.get("unit") or getattr(request.user, "unit", "mg/dL")
    return unit if unit in ("mg/dL", "mmol/L") else "mg/dL"


@login_required
@require_safe
def consultation_list(request):
    """The patient's threads, or the care team's inbox (unanswered first, by due time)."""
    user = request.user
    if user.is_patient:
        patient = _own_patient(user)
        threads = list(patient.consultations.prefetch_related("messages"))
        return render(
            request,
            "consultations/mine.html",
            {
                "patient": patient,
                "threads": threads,
                "requests": patient.medication_requests.all()[:20],
            },
        )
    if not services.may_use_inbox(user):
        raise PermissionDenied("The consultation inbox is the care team's.")
    rows = services.inbox(user)
    audit_ids = [c.patient_id for c in rows]
    if audit_ids:
        from accounts.access import audit_many

        audit_many(user, audit_ids, AuditEvent.Action.VIEW, "consultation inbox")
    pending = MedicationRequest.objects.filter(
        patient__in=services.consultations_visible_to(user).values("patient"),
        state=MedicationRequest.State.PENDING,
    ).select_related("patient")
    return render(
        request,
        "consultations/inbox.html",
        {"rows": rows, "pending_requests": pending, "now": services.timezone.now()},
    )


@login_required
@require_http_methods(PAGE)
def consultation_ask(request):
    patient = _own_patient(request.user)
    form = {"category": "", "text": ""}
    error = None
    status = 200
    if request.method == "POST":
        form = {"category": request.POST.get("category", ""), "text": request.POST.get("text", "")}
        try:
            consultation = services.consultation_ask(
                patient=patient,
                by=request.user,
                category=form["category"],
                text=form["text"],
                photos=request.FILES.getlist("photos"),
            )
        except ConsultationError as exc:
            error, status = exc.messages[0], exc.status
        else:
            messages.success(request, _("Your question was sent to your care team."))
            return redirect("consultations-detail", pk=consultation.pk)
    return render(
        request,
        "consultations/ask.html",
        {
            "patient": patient,
            "levels": services.service_levels(patient.care_center),
            "emergency_signs": [_(s) for s in EMERGENCY_SIGNS],
            "form": form,
            "error": error,
            "max_mb": PHOTO_MAX_BYTES // (1024 * 1024),
            "max_photos": PHOTOS_PER_MESSAGE,
        },
        status=status,
    )


def _language_name(code: str) -> str:
    """'English', '简体中文' …: the language's name in the page's language, never its code."""
    try:
        return get_language_info(code)["name_translated"]
    except KeyError:
        return code


def _window(snapshot: dict) -> list[dt.date]:
    """The snapshot's first and last local day as dates (the page formats them)."""
    try:
        return [dt.date.fromisoformat(day) for day in snapshot.get("window", [])[:2]]
    except (TypeError, ValueError):
        return []


def _studio_context(request, consultation: Consultation) -> dict:
    """The question beside the snapshot at asking and today's data."""
    from reports.figures import agp as agp_figure
    from reports.models import Report
    from visits.services import follow_up_due

    patient = consultation.patient
    unit = _unit(request)
    plan = care_plan_current(patient=patient)
    targets = targets_of_version(plan, patient=patient)
    today = services.snapshot_take(patient)

    def figure(snapshot):
        if not snapshot.get("agp"):
            return None
        return agp_figure(
            {"agp": snapshot["agp"]},
            unit=unit,
            range_low=targets.get("range_low", 70),
            range_high=targets.get("range_high", 180),
        )

    team = patient.endocrinologists.filter(is_active=True).order_by("last_name", "username")
    templates = ReplyTemplate.objects.filter(owner=request.user)
    if request.user.care_center_id:
        templates = templates | ReplyTemplate.objects.filter(center_id=request.user.care_center_id)
    language = patient.language or "en"
    return {
        "snapshot": consultation.snapshot,
        "snapshot_window": _window(consultation.snapshot),
        "snapshot_figure": figure(consultation.snapshot),
        "today": today,
        "today_figure": figure(today),
        "plan": plan,
        "report": Report.objects.filter(patient=patient).order_by("-created_at", "-pk").first(),
        "follow_up": follow_up_due(patient),
        "team": team,
        "reply_templates": [
            {"title": t.title, "text": t.text_for(language)} for t in templates.order_by("title")
        ],
        "patient_language": language,
        "patient_language_name": _language_name(language),
        "outcomes": Outcome.choices,
        "plan_change_url": reverse("care-plans-detail", args=[patient.pk])
        + f"?prompt=consultations.consultation:{consultation.pk}",
        # Remote monitoring (#20): the patient's alerts still open, as this clinician may see them.
        "open_alerts": list(
            alerts_visible_to(request.user)
            .filter(patient=patient, live=True, closed_at__isnull=True)
            .order_by("-opened_at")[:5]
        ),
    }


@login_required
@require_http_methods(PAGE)
def consultation_detail(request, pk):
    """The thread: the patient's view, or the clinician's studio. POST adds a message."""
    consultation = services.consultation_for(request.user, pk)
    is_patient = consultation.patient.user_id == request.user.pk
    error, status = None, 200
    if request.method == "POST":
        try:
            services.consultation_post(
                consultation=consultation,
                by=request.user,
                text=request.POST.get("text", ""),
                photos=request.FILES.getlist("photos"),
            )
        except ConsultationError as exc:
            error, status = exc.messages[0], exc.status
        else:
            return redirect("consultations-detail", pk=consultation.pk)
    services.consultation_read(request.user, consultation)
    context = {
        "consultation": consultation,
        "patient": consultation.patient,
        "thread": consultation.messages.prefetch_related("photos"),
        "error": error,
        "is_patient": is_patient,
        "max_mb": PHOTO_MAX_BYTES // (1024 * 1024),
        "max_photos": PHOTOS_PER_MESSAGE,
        "overdue": consultation.overdue(),
    }
    if is_patient:
        return render(request, "consultations/thread.html", context, status=status)
    context.update(_studio_context(request, consultation))
    return render(request, "consultations/studio.html", context, status=status)


def _team_action(request, pk, run):
    consultation = services.consultation_for(request.user, pk)
    if not services.is_care_team(request.user, consultation.patient):
        raise PermissionDenied("The care team does this.")
    try:
        run(consultation)
    except ConsultationError as exc:
        return HttpResponse(exc.messages[0], status=exc.status, content_type="text/plain")
    return redirect("consultations-detail", pk=consultation.pk)


@login_required
@require_POST
def consultation_assign(request, pk):
    def run(consultation):
        to = User.objects.filter(pk=services.parse_id(request.POST.get("to"))).first()
        services.consultation_assign(consultation=consultation, by=request.user, to=to)
        messages.success(request, _("Assigned."))

    return _team_action(request, pk, run)


@login_required
@require_POST
def consultation_close(request, pk):
    def run(consultation):
        services.consultation_close(
            consultation=consultation, by=request.user, outcome=request.POST.get("outcome", "")
        )
        messages.success(request, _("The consultation is closed."))

    return _team_action(request, pk, run)


@login_required
@require_POST
def consultation_book_visit(request, pk):
    def run(consultation):
        services.consultation_request_visit(consultation=consultation, by=request.user)
        messages.success(request, _("Staff were asked to book a visit; it is on their worklist."))

    return _team_action(request, pk, run)


@login_required
@require_safe
def photo(request, pk):
    """A consultation's photo, to whoever may read the consultation (never a static URL)."""
    item = get_object_or_404(Photo.objects.select_related("message"), pk=pk)
    consultation = services.consultation_for(request.user, item.message.consultation_id)
    if consultation.patient.user_id != request.user.pk:
        audit(
            request.user, consultation.patient, AuditEvent.Action.VIEW, f"consultation photo {pk}"
        )
    response = FileResponse(item.file.open("rb"), content_type=item.content_type)
    response["Cache-Control"] = "private, no-store"
    response["X-Content-Type-Options"] = "nosniff"
    return response


@login_required
@require_http_methods(PAGE)
def reply_templates(request):
    """A clinician's own saved replies (the center's are kept in the admin)."""
    if not request.user.is_endocrinologist:
        raise PermissionDenied("Saved replies are for clinicians.")
    error = None
    if request.method == "POST":
        title = request.POST.get("title", "").strip()[:100]
        text_en = request.POST.get("text_en", "").strip()[:5000]
        text_zh = request.POST.get("text_zh", "").strip()[:5000]
        if request.POST.get("delete"):
            ReplyTemplate.objects.filter(
                owner=request.user, pk=services.parse_id(request.POST.get("delete"))
            ).delete()
            return redirect("consultations-templates")
        if not title or not text_en or "\x00" in title + text_en + text_zh:
            error = _("Give the reply a title and its English text.")
        else:
            ReplyTemplate.objects.create(
                owner=request.user, title=title, text_en=text_en, text_zh=text_zh
            )
            return redirect("consultations-templates")
    own = ReplyTemplate.objects.filter(owner=request.user)
    center = ReplyTemplate.objects.filter(center_id=request.user.care_center_id)
    return render(
        request,
        "consultations/templates.html",
        {"own": own, "center": center, "error": error},
        status=400 if error else 200,
    )


# --- medication requests ----------------------------------------------------------------------


@login_required
@require_http_methods(PAGE)
def medication_request_new(request):
    patient = _own_patient(request.user)
    version, meds = services.plan_medications(patient)
    error, status = None, 200
    if request.method == "POST":
        try:
            services.medication_request_create(
                patient=patient,
                by=request.user,
                medication=request.POST.get("medication", ""),
                quantity=request.POST.get("quantity"),
                note=request.POST.get("note", ""),
            )
        except ConsultationError as exc:
            error, status = exc.messages[0], exc.status
        else:
            messages.success(request, _("Your request was sent to your endocrinologist."))
            return redirect("consultations-list")
    return render(
        request,
        "consultations/medication_new.html",
        {"patient": patient, "medications": list(enumerate(meds)), "error": error},
        status=status,
    )


@login_required
@require_http_methods(PAGE)
def medication_request_detail(request, pk):
    item = services.medication_request_for(request.user, pk)
    error, status = None, 200
    if request.method == "POST":
        if not may_edit_care_plan(request.user, item.patient):
            raise PermissionDenied("The patient's endocrinologists decide.")
        decision = request.POST.get("decision")
        try:
            if decision not in ("approve", "decline"):  # never a decline by omission
                raise ConsultationError(_("Choose approve or decline."))
            services.medication_request_decide(
                request=item,
                by=request.user,
                approved=decision == "approve",
                note=request.POST.get("note", ""),
            )
        except ConsultationError as exc:
            error, status = exc.messages[0], exc.status
        else:
            return redirect("medication-requests-detail", pk=item.pk)
    if item.patient.user_id != request.user.pk:
        audit(request.user, item.patient, AuditEvent.Action.VIEW, f"medication request {item.pk}")
    return render(
        request,
        "consultations/medication_detail.html",
        {
            "item": item,
            "patient": item.patient,
            "may_decide": may_edit_care_plan(request.user, item.patient),
            "error": error,
        },
        status=status,
    )


@login_required
@require_safe
def medication_request_slip(request, pk):
    """An approved request as a printable slip (PDF); the product sends nothing to pharmacies."""
    from consultations.slip import slip_pdf

    item = services.medication_request_for(request.user, pk)
    if item.state != MedicationRequest.State.APPROVED:
        raise Http404("Only an approved request has a slip.")
    if item.patient.user_id != request.user.pk:
        audit(request.user, item.patient, AuditEvent.Action.EXPORT, f"medication slip {item.pk}")
    response = HttpResponse(slip_pdf(item), content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="request-slip-{item.pk}.pdf"'
    return response
