import datetime as dt

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_safe

from accounts.access import (
    audit,
    audit_many,
    get_patient_for,
    may_see_clinical,
    patients_visible_to,
    record_accesses,
)
from patients.services import FLAGS, ORDERINGS, rollup_metrics, triage_rows, window_dates

PAGE_SIZE = 25


@login_required
@require_safe
def patient_list(request):
    """Endocrinologists: the triage list, riskiest first. Staff: their center's patients."""
    user = request.user
    if user.is_patient:
        raise PermissionDenied
    patients = patients_visible_to(user)
    query = request.GET.get("q", "").strip()
    if query:
        patients = patients.filter(name__icontains=query) | patients.filter(mrn__icontains=query)
    ordering = request.GET.get("ordering", "risk")
    flag = request.GET.get("flag") or None
    if user.is_care_staff:
        rows = None
        page = Paginator(patients.order_by("name", "pk"), PAGE_SIZE).get_page(
            request.GET.get("page")
        )
    else:
        rows = triage_rows(patients, ordering=ordering, flag=flag)
        page = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
        audit_many(user, [row.patient.pk for row in page], "view", "triage list")
    context = {
        "page": page,
        "triage": rows is not None,
        "ordering": ordering if ordering in ORDERINGS else "risk",
        "flag": flag,
        "flags": FLAGS,
        "query": query,
    }
    template = "patients/_table.html" if request.htmx else "patients/list.html"
    return render(request, template, context)


@login_required
@require_safe
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


@require_safe
@login_required
def patient_access_log(request, pk):
    """ "Who viewed my record": for the patient themself (and admins), everyone else's views,
    changes, exports and refused attempts on this record, this month unless ``?since=``."""
    patient = get_patient_for(request.user, pk, clinical=False)
    if not (patient.user_id == request.user.pk or request.user.is_admin_role):
        raise PermissionDenied
    today = timezone.now().date()
    try:
        since = dt.date.fromisoformat(request.GET.get("since", ""))
    except ValueError:
        since = today.replace(day=1)
    events = record_accesses(patient, since=since)
    page = Paginator(events, PAGE_SIZE).get_page(request.GET.get("page"))
    context = {"patient": patient, "page": page, "since": since}
    return render(request, "patients/access_log.html", context)
