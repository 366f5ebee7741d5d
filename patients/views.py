from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import StreamingHttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from accounts.access import audit, get_patient_for, may_see_clinical, patients_visible_to
from accounts.context_processors import preferences
from accounts.models import CareCenter
from patients import ranking
from patients.csv_export import triage_csv_rows
from patients.models import Patient
from patients.services import rollup_metrics, window_dates
from patients.triage import TriageQuery, triage_list, triage_mark_reviewed

PAGE_SIZE = 25
NOTE_MAX = 1000


def _may_triage(user) -> bool:
    return user.is_endocrinologist or user.is_admin_role


@login_required
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
    rows = triage_list(patients, query, user=user)
    unit = preferences(request)["glucose_unit"]
    if request.GET.get("format") == "csv":
        audit(user, None, "export", "triage list as CSV")
        response = StreamingHttpResponse(
            triage_csv_rows(rows.iterator(), unit), content_type="text/csv"
        )
        response["Content-Disposition"] = 'attachment; filename="triage.csv"'
        return response
    page = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
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
    row = triage_list(
        patients_visible_to(request.user).filter(pk=patient.pk), TriageQuery(), user=request.user
    ).get()
    return render(request, "patients/_triage_row.html", {"row": row, "query": TriageQuery()})


@login_required
def patient_detail(request, pk):
    """The patient workspace: figures, readings, reports, care plan, uploads."""
    patient = get_patient_for(request.user, pk, clinical=False)
    clinical = may_see_clinical(request.user, patient)
    context = {"patient": patient, "clinical": clinical}
    if clinical:
        audit(request.user, patient, "view", "patient workspace")
        start, end = window_dates()
        context["metrics"] = rollup_metrics([patient.pk], start=start, end=end).get(patient.pk)
        context["window"] = (start, end)
    return render(request, "patients/detail.html", context)
