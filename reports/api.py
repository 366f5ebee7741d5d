"""Reports API: list / generate per patient, detail, and the FHIR export.

Output serializers are explicit allow-lists; every view starts with a permission-checked
lookup (``get_patient_for`` / ``report_for``)."""

from django.utils import translation
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_field
from rest_framework import serializers, status
from rest_framework.decorators import api_view, permission_classes
from rest_framework.exceptions import NotFound, PermissionDenied
from rest_framework.pagination import PageNumberPagination
from rest_framework.response import Response

from accounts.access import audit, get_patient_for, may_see_plan_suggestions
from accounts.permissions import IsPerson
from common.api import paginated
from reports.fhir import report_bundle
from reports.models import Report, Suggestion, SuggestionStateError
from reports.services import report_generate, reports_for
from reports.suggestions import suggestion_dismiss
from reports.views import report_for


class ReportSummaryOutput(serializers.Serializer):
    id = serializers.IntegerField()
    patient = serializers.IntegerField(source="patient_id")
    kind = serializers.CharField()
    period_start = serializers.DateField()
    period_end = serializers.DateField()
    created_at = serializers.DateTimeField()
    algorithm_version = serializers.CharField()
    care_plan_version_id = serializers.IntegerField(allow_null=True)
    care_plan_version_number = serializers.IntegerField(allow_null=True)
    in_range_percent = serializers.SerializerMethodField()
    sufficient = serializers.SerializerMethodField()

    def get_in_range_percent(self, report) -> float | None:
        return report.metrics.get("in_range_percent")

    def get_sufficient(self, report) -> bool | None:
        return report.metrics.get("sufficient")


class ReportOutput(ReportSummaryOutput):
    metrics = serializers.JSONField()
    targets = serializers.JSONField()
    goals = serializers.JSONField()
    comparison = serializers.JSONField()
    patterns = serializers.JSONField()
    previous = serializers.IntegerField(source="previous_id", allow_null=True)
    clinician_note = serializers.CharField(
        help_text="Internal clinical note: care team only, left out for the patient."
    )
    patient_message = serializers.CharField(help_text="The care team's message to the patient.")

    def to_representation(self, report):
        data = super().to_representation(report)
        request = self.context.get("request")
        if request is None or getattr(request.user, "is_patient", True):
            data.pop("clinician_note", None)  # the patient never reads the internal note
        return data


@extend_schema(
    methods=["GET"], operation_id="patients_reports_list", responses=paginated(ReportSummaryOutput)
)
@extend_schema(
    methods=["POST"],
    operation_id="patients_reports_generate",
    request=None,
    responses={
        201: ReportOutput,
        200: ReportOutput,
        422: OpenApiResponse(description="No readings in the report period."),
    },
)
@api_view(["GET", "POST"])
@permission_classes([IsPerson])
def patient_reports(request, pk):
    patient = get_patient_for(request.user, pk)
    if request.method == "POST":
        if not (request.user.is_endocrinologist or request.user.is_admin_role):
            raise PermissionDenied("Only clinicians may generate reports.")
        report = report_generate(patient_id=patient.pk)
        audit(request.user, patient, "create", "report")
        if report is None:
            return Response(
                {"detail": "No readings in the report period."},
                status=status.HTTP_422_UNPROCESSABLE_ENTITY,
            )
        code = status.HTTP_201_CREATED if report.was_created else status.HTTP_200_OK
        return Response(ReportOutput(report, context={"request": request}).data, status=code)
    audit(request.user, patient, "view", "report list")
    paginator = PageNumberPagination()
    page = paginator.paginate_queryset(reports_for(patient), request)
    return paginator.get_paginated_response(ReportSummaryOutput(page, many=True).data)


@extend_schema(methods=["GET"], operation_id="reports_retrieve", responses=ReportOutput)
@api_view(["GET"])
@permission_classes([IsPerson])
def report_detail(request, pk):
    report = report_for(request.user, pk)
    audit(request.user, report.patient, "view", f"report {report.pk} (API)")
    return Response(ReportOutput(report, context={"request": request}).data)


@extend_schema(
    methods=["GET"],
    operation_id="reports_fhir",
    responses={200: OpenApiResponse(description="FHIR R4 Bundle (collection)")},
)
@api_view(["GET"])
@permission_classes([IsPerson])
def report_fhir(request, pk):
    from reports.pdf import report_pdf_bytes

    report = report_for(request.user, pk)
    audit(request.user, report.patient, "export", f"report {report.pk} FHIR")
    with translation.override("en"):
        pdf = report_pdf_bytes(report, for_patient=request.user.is_patient)
    return Response(report_bundle(report, pdf=pdf), content_type="application/fhir+json")


# --- plan suggestions ---------------------------------------------------------------------


class SuggestionEvidenceOutput(serializers.Serializer):
    days = serializers.ListField(child=serializers.DateField(), help_text="Local dates.")
    summary = serializers.CharField(help_text="The evidence in words (English, mg/dL).")


class SuggestionOutput(serializers.Serializer):
    id = serializers.IntegerField()
    rule = serializers.CharField()
    kind = serializers.CharField(
        help_text="One of: basal_decrease, bolus_decrease, sulfonylurea_decrease, "
        "basal_increase, basal_review, meal_review, no_change, not_for_pregnancy."
    )
    source = serializers.CharField()
    evidence = serializers.SerializerMethodField()
    proposed_change = serializers.JSONField(
        allow_null=True, help_text='{"<dotted plan field>": {"from": ..., "to": ...}} or null.'
    )
    blocked_by = serializers.ListField(child=serializers.CharField())
    state = serializers.CharField(help_text="One of: open, accepted, dismissed.")

    @extend_schema_field(SuggestionEvidenceOutput)
    def get_evidence(self, suggestion) -> dict:
        evidence = suggestion.evidence or {}
        return {"days": suggestion.days, "summary": evidence.get("summary", "")}


class DismissInput(serializers.Serializer):
    reason = serializers.CharField(max_length=2000, help_text="Why it is dismissed (required).")


def _clinician_report(request, pk) -> Report:
    """The report ``pk`` for its clinicians: 404 outside one's view (and for staff), 403 for
    a patient (suggestions are never theirs to see)."""
    report = report_for(request.user, pk)
    if not may_see_plan_suggestions(request.user, report.patient):
        raise PermissionDenied("Plan suggestions are for the patient's clinicians.")
    return report


@extend_schema(
    methods=["GET"], operation_id="reports_suggestions", responses=SuggestionOutput(many=True)
)
@api_view(["GET"])
@permission_classes([IsPerson])
def report_suggestions(request, pk):
    report = _clinician_report(request, pk)
    audit(request.user, report.patient, "view", f"report {report.pk} suggestions (API)")
    return Response(SuggestionOutput(report.suggestions.all(), many=True).data)


@extend_schema(
    methods=["POST"],
    operation_id="suggestions_dismiss",
    request=DismissInput,
    responses={
        200: SuggestionOutput,
        409: OpenApiResponse(description="Already accepted or dismissed."),
    },
)
@api_view(["POST"])
@permission_classes([IsPerson])
def suggestion_dismiss_api(request, pk):
    try:
        suggestion = Suggestion.objects.select_related("report__patient").get(pk=int(pk))
    except (Suggestion.DoesNotExist, ValueError, OverflowError):
        raise NotFound("No such suggestion.") from None
    _clinician_report(request, suggestion.report_id)
    data = DismissInput(data=request.data)
    if not data.is_valid():
        return Response({"detail": data.errors}, status=status.HTTP_400_BAD_REQUEST)
    try:
        suggestion = suggestion_dismiss(
            suggestion=suggestion, by=request.user, reason=data.validated_data["reason"]
        )
    except ValueError:
        return Response({"detail": {"reason": ["A reason is required."]}}, status=400)
    except SuggestionStateError:
        return Response(
            {"detail": f"This suggestion is already {suggestion.state}."},
            status=status.HTTP_409_CONFLICT,
        )
    return Response(SuggestionOutput(suggestion).data)
