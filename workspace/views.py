import datetime as dt
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import HttpResponseBadRequest, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST, require_safe

from accounts import display
from accounts.access import (
    audit,
    audit_many,
    get_patient_for,
    get_patient_for_download,
    may_download_all,
    may_edit_care_plan,
    may_see_clinical,
    patients_visible_to,
    record_accesses,
)
from accounts.context_processors import preferences
from accounts.models import CareCenter
from care_plans.services import targets_for
from common.dates import parse_day
from common.http import download_disposition
from common.replicas import on_replica
from consultations.measures import consultation_measures
from patients.models import Patient
from workspace import own_view, population, ranking
from workspace import tabs as workspace
from workspace.csv_export import triage_csv_rows
from workspace.triage import (
    TriageQuery,
    triage_list,
    triage_mark_reviewed,
    with_unread,
    with_unread_chunked,
)

PAGE_SIZE = 25
READINGS_PAGE_SIZE = 50
NOTE_MAX = 1000


def _may_triage(user) -> bool:
    return user.is_endocrinologist or user.is_admin_role


@login_required
@require_safe
def patient_list(request):
    """Endocrinologists: the triage queue, riskiest first. Staff: their center's patients."""
    user = request.user
    if user.is_patient:
        raise PermissionDenied
    patients = patients_visible_to(user)
    query = TriageQuery.from_params(request.GET)
    if not _may_triage(user):
        rows = patients.order_by("name", "pk")
        if query.q:
            rows = rows.filter(name__icontains=query.q) | rows.filter(mrn__icontains=query.q)
        page = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
        context = {"page": page, "triage": False, "query": query}
        template = "patients/_table.html" if request.htmx else "patients/list.html"
        return render(request, template, context)
    rows = triage_list(patients, query)
    unit = preferences(request)["glucose_unit"]
    if request.GET.get("format") == "csv":
        audit_many(user, rows.values_list("pk", flat=True), "export", "triage list as CSV")
        lines = triage_csv_rows(with_unread_chunked(rows.iterator(), user=user), unit)
        response = StreamingHttpResponse(lines, content_type="text/csv")
        response["Content-Disposition"] = 'attachment; filename="triage.csv"'
        return response
    # The queue's reads on a read replica, if any (common.replicas: the person who just wrote,
    # e.g. "Mark reviewed", reads the primary until a replica has their write).
    page = on_replica(_triage_page, rows, request.GET.get("page"), user=user)
    audit_many(user, [row.pk for row in page.object_list], "view", "triage list")
    context = {
        "page": page,
        "triage": True,
        "query": query,
        "flags": ranking.FLAGS,
        "types": Patient.DiabetesType.choices,
        "centers": CareCenter.objects.filter(pk__in=patients.values("care_center_id")).order_by(
            "name"
        ),
    }
    template = "patients/_table.html" if request.htmx else "patients/list.html"
    return render(request, template, context)


def _triage_page(rows, number, *, user):
    page = Paginator(rows, PAGE_SIZE).get_page(number)
    page.object_list = with_unread(page.object_list, user=user)
    return page


@login_required
@require_safe
def population_view(request):
    """The population view: endocrinologists see their patients, admins the whole center."""
    user = request.user
    if not _may_triage(user):
        raise PermissionDenied
    audit(user, None, "view", "population view")
    context = on_replica(population.population, patients_visible_to(user), unit=_unit(request))
    figures = consultation_measures(user)
    context["consultations"] = figures
    context["consultation_tables"] = [
        (_("Per center"), figures["centers"]),
        (_("Per clinician (first answer)"), figures["clinicians"]),
    ]
    return render(request, "patients/population.html", context)


@require_POST
@login_required
def patient_review(request, pk):
    """ "Mark reviewed": record who reviewed the patient (optional note); htmx swaps the row."""
    patient = get_patient_for(request.user, pk)
    if not _may_triage(request.user):
        raise PermissionDenied
    note = request.POST.get("note", "")[:NOTE_MAX]
    triage_mark_reviewed(patient=patient, by=request.user, note=note)
    audit(request.user, patient, "change", "triage review")
    if not request.htmx:
        return redirect(request.POST.get("next") or "patients-list")
    rows = triage_list(patients_visible_to(request.user).filter(pk=patient.pk), TriageQuery())
    (row,) = with_unread(rows, user=request.user)
    return render(request, "patients/_triage_row.html", {"row": row, "query": TriageQuery()})


TABS = (
    ("overview", gettext_lazy("Overview"), "patients-detail"),
    ("day", gettext_lazy("Daily view"), "patients-day"),
    ("reports", gettext_lazy("Reports"), "patients-reports"),
    ("plan", gettext_lazy("Care plan"), "patients-plan"),
    ("uploads", gettext_lazy("Uploads"), "patients-files"),
    ("visits", gettext_lazy("Visits"), "patients-visits"),
    ("alerts", gettext_lazy("Alerts"), "patients-alerts"),
    ("access", gettext_lazy("Who viewed this record"), "patients-access"),
)


def _tab(request, patient, tab: str, context: dict):
    """The whole workspace page, or (htmx tab switch) only the tab's panel."""
    context = {
        "patient": patient,
        "tab": tab,
        "tabs": TABS,
        "tab_template": f"patients/_tab_{tab}.html",
        **context,
    }
    if request.htmx and request.htmx.target == "tab-panel":
        return render(request, "patients/_tab_panel.html", context)
    return render(request, "patients/workspace.html", context)


def _unit(request) -> str:
    return preferences(request)["glucose_unit"]


def _own(request, patient) -> bool:
    """The patient themself: they read their own view, never the clinician's workspace."""
    return patient.user_id is not None and patient.user_id == request.user.pk


def _to_own_view(section: str, query: str = ""):
    """Where a patient opening their workspace goes: the same part of their own view."""
    return redirect(f"{reverse('my-glucose')}{query}#{section}" if section else "my-glucose")


DAY_ERROR = gettext_lazy("Give the day as YYYY-MM-DD (from 1970 to today) and the span as 1 or 7.")


def _day_and_span(request, patient, default=workspace.local_today) -> tuple[dt.date, int] | None:
    """``?date=YYYY-MM-DD&span=1|7`` (default: ``default(patient)``, one day); None if bad."""
    try:
        span = int(request.GET.get("span", 1))
        day = parse_day(request.GET.get("date"), "date") or default(patient)
    except ValueError:  # BadDate too: not a date, or outside the calendar
        return None
    if span not in workspace.DAY_SPANS or not own_view.day_in_range(patient, day):
        return None
    return day, span


@login_required
@require_safe
def my_glucose(request):
    """The patient's own view: goals in words, the AGP and a day's trace in their unit, their
    uploads, reports and plan (``patients/own_view.py``). Patients only."""
    if not request.user.is_patient:
        raise PermissionDenied
    patient = getattr(request.user, "patient", None)
    if patient is None:
        return render(request, "accounts/home_patient_unlinked.html")
    chosen = _day_and_span(request, patient, default=own_view.latest_day)
    if chosen is None:
        return HttpResponseBadRequest(str(DAY_ERROR))
    day, span = chosen
    context = own_view.own_view(patient, unit=_unit(request), day=day, span=span)
    return render(request, "patients/own_view.html", context)


@login_required
@require_safe
def patient_detail(request, pk):
    """Workspace, Overview tab: facts, targets, metrics against goals, AGP, flags."""
    patient = get_patient_for(request.user, pk, clinical=False)
    if _own(request, patient):
        return _to_own_view("")
    if not may_see_clinical(request.user, patient):
        return render(request, "patients/workspace.html", {"patient": patient, "clinical": False})
    audit(request.user, patient, "view", "patient workspace")
    return _tab(request, patient, "overview", workspace.overview(patient, unit=_unit(request)))


@login_required
@require_safe
def patient_day(request, pk):
    """Workspace, Daily view: one local day (or week) of CGM, finger-sticks and treatments."""
    patient = get_patient_for(request.user, pk)
    if _own(request, patient):
        kept = {k: request.GET[k] for k in ("date", "span") if k in request.GET}
        return _to_own_view("day", f"?{urlencode(kept)}" if kept else "")
    chosen = _day_and_span(request, patient)
    if chosen is None:
        return HttpResponseBadRequest(str(DAY_ERROR))
    day, span = chosen
    audit(request.user, patient, "view", f"daily view {day.isoformat()}")
    targets = targets_for(patient)
    readings = Paginator(workspace.day_readings(patient, day, span), READINGS_PAGE_SIZE)
    context = {
        "day": day,
        "span": span,
        "first_day": day - dt.timedelta(days=span - 1),
        "previous": day - dt.timedelta(days=span),
        "next": day + dt.timedelta(days=span),
        "is_today": day >= workspace.local_today(patient),
        "figure": workspace.day_figure(patient, day, span, unit=_unit(request), targets=targets),
        "readings": readings.get_page(request.GET.get("page")),
    }
    return _tab(request, patient, "day", context)


def _listing_tab(tab: str, own_page: str, audit_what: str):
    """A workspace tab that lists what another app owns (reports, the plan, uploads): audited
    for the care team; the patient is sent to the same list on their own pages."""

    @login_required
    @require_safe
    def view(request, pk):
        patient = get_patient_for(request.user, pk)
        if _own(request, patient):
            return _to_own_view(own_page)
        audit(request.user, patient, "view", audit_what)
        return _tab(request, patient, tab, {})

    view.__name__ = view.__qualname__ = f"patient_{tab}"
    return view


patient_reports = _listing_tab("reports", "reports", "reports list")
patient_plan = _listing_tab("plan", "plan", "care plan summary")
patient_files = _listing_tab("uploads", "uploads", "uploads")


@login_required
@require_safe
def patient_visits(request, pk):
    """Workspace, Visits tab: upcoming and past visits, in the care center's zone for staff and
    clinicians (accounts.display.zone_for); a patient is sent to their home page."""
    patient = get_patient_for(request.user, pk)
    if _own(request, patient):
        return redirect(reverse("home") + "#visits")  # the patient's visits are on their home
    audit(request.user, patient, "view", "visits")
    context = workspace.visits_tab(patient)
    context["visit_zone"] = display.zone_for(request.user, patient)  # the center's, or theirs
    return _tab(request, patient, "visits", context)


@login_required
@require_safe
def patient_alerts(request, pk):
    """Workspace, Alerts tab (issue #20): enrolment and thresholds, the timeline of alert
    episodes and past episodes, who was told, who acknowledged and what was done, mutes. The
    patient reads whether the clinic watches on their privacy page."""
    from workspace.alerts import alerts_tab

    patient = get_patient_for(request.user, pk)
    if _own(request, patient):
        return redirect(reverse("patients-privacy", args=[patient.pk]) + "#monitoring")
    audit(request.user, patient, "view", "alerts")
    context = alerts_tab(patient, user=request.user, unit=_unit(request))
    return _tab(request, patient, "alerts", context)


@login_required
@require_POST
def patient_monitoring(request, pk):
    """Alerts tab: the patient's endocrinologist (or an admin) enrols them in remote
    monitoring, changes the thresholds (glucose in the viewer's unit) or ends it. Enrolling
    without the patient's consent answers 409 with the tab and why, as the API does; a value
    out of bounds 400 with the tab and the field's error."""
    from monitoring import services as monitoring
    from workspace.alerts import EnrolmentInputError, alerts_tab, enrolment_fields, enrolment_input

    patient = get_patient_for(request.user, pk)
    if not may_edit_care_plan(request.user, patient):
        raise PermissionDenied
    unit = _unit(request)
    enrolment = monitoring.enrolment_of(patient)
    status, problem, errors = 200, "", {}
    try:
        action, thresholds = enrolment_input(request.POST, patient, enrolment, unit)
        enrolled = {"enrol": True, "unenrol": False}.get(
            action, bool(enrolment and enrolment.active)
        )
        monitoring.enrolment_set(
            patient=patient,
            enrolled=enrolled,
            thresholds=None if action == "unenrol" else thresholds,
            by=request.user,
        )
    except EnrolmentInputError as exc:
        status, errors = 400, exc.errors
        problem = errors.get("action", _("Some thresholds need correcting."))
    except monitoring.NoConsent:
        status = 409
        problem = _(
            "The patient has not consented to remote monitoring: they give it on their "
            "privacy page, and can be enrolled after that."
        )
    if status != 200:
        context = alerts_tab(patient, user=request.user, unit=unit)
        typed = {
            k: request.POST.get(k, "")[:20]
            for k in ("urgent_low", "high", "high_minutes", "no_data_hours")
        }
        context["enrol_fields"] = enrolment_fields(
            patient, monitoring.enrolment_of(patient), unit, typed=typed, errors=errors
        )
        context["enrol_problem"] = problem
        response = _tab(request, patient, "alerts", context)
        response.status_code = status
        return response
    messages.success(
        request,
        {
            "enrol": _("Enrolled in remote monitoring."),
            "unenrol": _("Remote monitoring ended."),
            "thresholds": _("Thresholds saved."),
        }[action],
    )
    return redirect("patients-alerts", pk=patient.pk)


@login_required
@require_safe
def patient_access(request, pk):
    """Who viewed this record: everyone but the patient who viewed, changed, exported or was
    refused this record, newest first; this month unless ``?since=YYYY-MM-DD``. The patient
    sees it on their own workspace ("who saw my data this month")."""
    patient = get_patient_for(request.user, pk)
    audit(request.user, patient, "view", "access log")
    since = parse_day(request.GET.get("since"), "since") or timezone.now().date().replace(day=1)
    events = record_accesses(patient, since=since)
    page = Paginator(events, READINGS_PAGE_SIZE).get_page(request.GET.get("page"))
    context = {"events": page, "since": since}
    if _own(request, patient):  # their own page, without the clinician's workspace around it
        return render(request, "patients/own_access.html", {"patient": patient, **context})
    return _tab(request, patient, "access", context)


@login_required
@require_safe
def patient_privacy(request, pk):
    """Consent and "download all my data": the patient changes their consents and downloads
    here; whoever may see the patient (staff included) sees what they consented to."""
    from patients.consent import consent_rows
    from workspace.alerts import watch_summary

    patient = get_patient_for(request.user, pk, clinical=False)
    own = patient.user_id == request.user.pk
    audit(request.user, patient, "view", "consents")
    history = patient.consents.select_related("by").order_by("-at", "-pk")
    context = {
        "patient": patient,
        "own": own,
        "rows": consent_rows(patient),
        "history": history,
        "may_download": may_download_all(request.user, patient),
        "watch": watch_summary(patient),
    }
    return render(request, "patients/privacy.html", context)


@login_required
@require_POST
def patient_consent(request, pk):
    """The patient gives or withdraws one consent (a new, dated record; nothing is erased)."""
    from patients.consent import consent_record
    from patients.models import Consent

    patient = get_patient_for(request.user, pk, clinical=False)
    if patient.user_id != request.user.pk:
        raise PermissionDenied
    topic, decision = request.POST.get("topic"), request.POST.get("decision")
    if topic not in Consent.Topic.values or decision not in ("give", "withdraw"):
        return HttpResponseBadRequest(_("Choose a consent and give or withdraw it."))
    consent_record(patient=patient, topic=topic, given=decision == "give", by=request.user)
    if decision == "give":
        messages.success(request, _("Thank you: your consent is recorded."))
    else:
        messages.success(request, _("Your withdrawal is recorded and shown to your care team."))
    return redirect("patients-privacy", pk=patient.pk)


def _download(patient, chunks, *, content_type: str, extension: str):
    response = StreamingHttpResponse(chunks, content_type=content_type)
    name = f"{patient.mrn}-data-{timezone.now():%Y%m%d}.{extension}"
    response["Content-Disposition"] = download_disposition(name)
    response["Cache-Control"] = "no-store"
    return response


def _in_language(chunks):
    """Keep the request's language while the answer streams (the report PDFs use it)."""
    language = translation.get_language()
    with translation.override(language):
        yield from chunks


@login_required
@require_safe
def patient_export_zip(request, pk):
    """All of the patient's data as CSV files and report PDFs in one ZIP (streamed)."""
    from workspace.data_export import export_zip

    patient = get_patient_for_download(request.user, pk, whole_record=True)
    audit(request.user, patient, "export", "all data as ZIP of CSV and PDF", even_own=True)
    chunks = _in_language(export_zip(patient, now=timezone.now()))
    return _download(patient, chunks, content_type="application/zip", extension="zip")


@login_required
@require_safe
def patient_export_fhir(request, pk):
    """All of the patient's data as one FHIR R4 Bundle (streamed JSON)."""
    from workspace.data_export import export_bundle

    patient = get_patient_for_download(request.user, pk, whole_record=True)
    audit(request.user, patient, "export", "all data as FHIR R4 Bundle", even_own=True)
    site = request.build_absolute_uri("/")
    chunks = _in_language(export_bundle(patient, now=timezone.now(), site=site))
    return _download(patient, chunks, content_type="application/fhir+json", extension="fhir.json")
