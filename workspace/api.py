"""The workspace API: the triage queue, the audit trail search and a patient's data export."""

import datetime as dt

from django.http import StreamingHttpResponse
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.decorators import api_view, permission_classes
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.pagination import PageNumberPagination

from accounts.access import (
    audit,
    audit_many,
    get_patient_for_download,
    patients_visible_to,
)
from accounts.models import AuditEvent
from accounts.permissions import IsPerson
from common.api import paginated
from common.dates import parse_day
from common.http import download_disposition
from patients.models import Patient
from workspace import ranking
from workspace.export import export_csv
from workspace.serializers import AuditOutput, TriageRow
from workspace.triage import (
    MODES,
    ORDERINGS,
    REVIEWED_CHOICES,
    TriageQuery,
    triage_list,
    with_unread,
)
from workspace.views import PAGE_SIZE, _in_language


@extend_schema(
    operation_id="triage_list",
    parameters=[
        OpenApiParameter("ordering", str, enum=sorted(ORDERINGS) + [f"-{k}" for k in ORDERINGS]),
        OpenApiParameter("flag", str, enum=list(ranking.FLAGS)),
        OpenApiParameter("type", str, enum=list(Patient.DiabetesType.values)),
        OpenApiParameter("mode", str, enum=list(MODES)),
        OpenApiParameter("center", int),
        OpenApiParameter("reviewed", str, enum=list(REVIEWED_CHOICES)),
        OpenApiParameter("q", str),
        OpenApiParameter("page", int),
    ],
    responses=paginated(TriageRow),
)
@api_view(["GET"])
@permission_classes([IsPerson])
def triage(request):
    """The signed-in clinician's triage queue: the same rows, order and flags as the page."""
    user = request.user
    if not (user.is_endocrinologist or user.is_admin_role):
        raise PermissionDenied("The triage list is for endocrinologists.")
    query = TriageQuery.from_params(request.query_params)
    rows = triage_list(patients_visible_to(user), query)
    paginator = PageNumberPagination()
    paginator.page_size = PAGE_SIZE
    page = with_unread(paginator.paginate_queryset(rows, request), user=user)
    audit_many(user, [row.pk for row in page], "view", "triage list (API)")
    return paginator.get_paginated_response(TriageRow(page, many=True).data)


@extend_schema(
    operation_id="audit_list",
    parameters=[
        OpenApiParameter("patient", int),
        OpenApiParameter("since", OpenApiTypes.DATE, description="UTC date, inclusive"),
        OpenApiParameter("user", str, description="username"),
        OpenApiParameter("action", str, enum=AuditEvent.Action.values),
    ],
    responses=paginated(AuditOutput),
)
@api_view(["GET"])
@permission_classes([IsPerson])
def audit_list(request):
    """Admins search the trail: ``?patient=12&since=2026-11-01`` answers "who saw this
    patient's data this month"."""
    if not request.user.is_admin_role:
        raise PermissionDenied("The audit trail is for administrators.")
    events = AuditEvent.objects.order_by("-at", "-pk")
    params = request.query_params
    patient = params.get("patient")
    if patient:
        if not patient.isdigit() or len(patient) > 18:
            raise ValidationError({"patient": "must be a patient id"})
        events = events.filter(patient_id=int(patient))
    since = parse_day(params.get("since"), "since")
    if since is not None:
        events = events.filter(at__gte=dt.datetime.combine(since, dt.time.min, tzinfo=dt.UTC))
    if params.get("user"):
        if "\x00" in params["user"]:  # PostgreSQL text cannot hold NUL: a 400, not a 500
            raise ValidationError({"user": "must be a username"})
        events = events.filter(username=params["user"])
    if params.get("action"):
        if params["action"] not in AuditEvent.Action.values:
            raise ValidationError({"action": f"must be one of {AuditEvent.Action.values}"})
        events = events.filter(action=params["action"])
    paginator = PageNumberPagination()
    page = paginator.paginate_queryset(events, request)
    return paginator.get_paginated_response(AuditOutput(page, many=True).data)


@extend_schema(
    operation_id="patients_export",
    parameters=[OpenApiParameter("format", str, enum=["csv", "fhir", "zip"])],
    responses={
        (200, "text/csv"): str,
        (200, "application/fhir+json"): dict,
        (200, "application/zip"): OpenApiTypes.BINARY,
    },
)
@api_view(["GET"])
@permission_classes([IsPerson])
def patient_export(request, pk):
    """All of a patient's data, streamed (DESIGN §4):

    - ``fhir``: one FHIR R4 Bundle — Patient, an Observation per reading, reports (with their
      PDFs), care-plan versions, visits, consents and the access log (``workspace.data_export``);
    - ``zip``: the same as CSV files and report PDFs in a ZIP;
    - ``csv`` (default): the readings alone as plain CSV, the one table a device-file importer
      reads back unchanged (``workspace.export``).
    """
    from workspace.data_export import export_bundle, export_zip

    fmt = request.query_params.get("format", "csv")
    # The whole record is the patient's and the admin's, as on their pages; the readings
    # table is the care team's too.
    patient = get_patient_for_download(request.user, pk, whole_record=fmt != "csv")
    if fmt not in ("csv", "fhir", "zip"):
        raise ValidationError({"format": "must be csv, fhir or zip"})
    # The patient's own download of everything is audited too, as on their page.
    audit(request.user, patient, "export", f"all data as {fmt}", even_own=fmt != "csv")
    now = timezone.now()
    if fmt == "csv":
        response = StreamingHttpResponse(export_csv(patient), content_type="text/csv")
        extension = "csv"
    elif fmt == "zip":
        response = StreamingHttpResponse(
            _in_language(export_zip(patient, now=now)), content_type="application/zip"
        )
        extension = "zip"
    else:
        site = request.build_absolute_uri("/")
        response = StreamingHttpResponse(
            _in_language(export_bundle(patient, now=now, site=site)),
            content_type="application/fhir+json",
        )
        extension = "fhir.json"
    response["Content-Disposition"] = download_disposition(f"{patient.mrn}.{extension}")
    return response
