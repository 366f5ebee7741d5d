"""Remote-monitoring API (DESIGN §4, issue #20): a patient's enrolment and thresholds, the
alerts list and detail, acknowledgement. Every lookup goes through ``accounts.access``."""

from __future__ import annotations

from django.db.models import Prefetch
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.decorators import api_view, permission_classes
from rest_framework.exceptions import NotFound, PermissionDenied
from rest_framework.exceptions import ParseError as BadRequest
from rest_framework.pagination import PageNumberPagination
from rest_framework.response import Response

from accounts.access import (
    alerts_visible_to,
    audit,
    audit_many,
    get_patient_for,
    may_edit_care_plan,
    may_use_alerts,
)
from accounts.permissions import IsPerson
from common.api import paginated
from monitoring import services
from monitoring.models import Alert, AlertNotification
from monitoring.serializers import (
    AcknowledgeInput,
    AlertOutput,
    MonitoringInput,
    MonitoringOutput,
)

DetailOutput = inline_serializer("MonitoringMessage", {"detail": serializers.CharField()})


def _monitoring(patient) -> dict:
    enrolment = services.enrolment_of(patient)
    th = services.thresholds_of(patient, enrolment)
    return {
        "enrolled": bool(enrolment and enrolment.active),
        "consented": services.has_consented(patient),
        "enrolled_at": enrolment.enrolled_at if enrolment and enrolment.active else None,
        "thresholds": {
            "urgent_low_mg_dl": th.urgent_low_mg_dl,
            "high_mg_dl": th.high_mg_dl,
            "high_minutes": th.high_minutes,
            "no_data_hours": th.no_data_hours,
        },
        "overrides": dict(enrolment.thresholds) if enrolment else {},
    }


@extend_schema(
    methods=["GET"], operation_id="patients_monitoring_retrieve", responses=MonitoringOutput
)
@extend_schema(
    methods=["PUT"],
    operation_id="patients_monitoring_update",
    request=MonitoringInput,
    responses={200: MonitoringOutput, 400: DetailOutput, 409: DetailOutput},
)
@api_view(["GET", "PUT"])
@permission_classes([IsPerson])
def patient_monitoring(request, pk):
    """Whether the patient is enrolled, and the thresholds in force (the plan's defaults and
    the clinician's overrides). PUT: the care team (and admins) enrol or end it; enrolling
    answers 409 until the patient has consented (``remote_monitoring``)."""
    patient = get_patient_for(request.user, pk)
    if request.method == "GET":
        audit(request.user, patient, "view", "monitoring enrolment")
        return Response(MonitoringOutput(_monitoring(patient)).data)
    if not may_edit_care_plan(request.user, patient):
        raise PermissionDenied("The patient's endocrinologists enrol them in monitoring.")
    data = MonitoringInput(data=request.data)
    data.is_valid(raise_exception=True)
    try:
        services.enrolment_set(
            patient=patient,
            enrolled=data.validated_data["enrolled"],
            thresholds=data.validated_data.get("thresholds"),
            by=request.user,
        )
    except services.NoConsent as exc:
        return Response({"detail": str(exc)}, status=status.HTTP_409_CONFLICT)
    except ValueError as exc:
        raise BadRequest(str(exc)) from None
    return Response(MonitoringOutput(_monitoring(patient)).data)


def _alerts(user):
    notifications = AlertNotification.objects.select_related("recipient").order_by("created_at")
    return (
        alerts_visible_to(user)
        .select_related("acknowledged_by")
        .prefetch_related(Prefetch("notifications", queryset=notifications))
    )


def _may_use(user) -> None:
    if not may_use_alerts(user):
        raise PermissionDenied("Alerts are for clinicians.")


def _choice(request, name: str, values) -> str | None:
    value = request.query_params.get(name)
    if value is None or value == "":
        return None
    if value not in values:
        raise BadRequest(f"{name} must be one of {', '.join(values)}.")
    return value


@extend_schema(
    operation_id="alerts_list",
    parameters=[
        OpenApiParameter("patient", int),
        OpenApiParameter("state", str, enum=Alert.State.values),
        OpenApiParameter("kind", str, enum=Alert.Kind.values),
    ],
    responses=paginated(AlertOutput),
)
@api_view(["GET"])
@permission_classes([IsPerson])
def alert_list(request):
    """The alerts the caller may see, newest first: live alerts and past episodes."""
    _may_use(request.user)
    alerts = _alerts(request.user)
    patient = request.query_params.get("patient")
    if patient not in (None, ""):
        if not patient.isdigit() or len(patient) > 18:
            raise BadRequest("patient must be a patient id.")
        alerts = alerts.filter(patient_id=int(patient))
    state = _choice(request, "state", Alert.State.values)
    if state:
        alerts = alerts.filter(state=state)
    kind = _choice(request, "kind", Alert.Kind.values)
    if kind:
        alerts = alerts.filter(kind=kind)
    paginator = PageNumberPagination()
    page = paginator.paginate_queryset(alerts.order_by("-opened_at", "-pk"), request)
    audit_many(request.user, [a.patient_id for a in page], "view", "alerts list")
    return paginator.get_paginated_response(AlertOutput(page, many=True).data)


def _alert_for(user, pk) -> Alert:
    _may_use(user)
    try:
        return _alerts(user).select_related("patient").get(pk=pk)
    except (Alert.DoesNotExist, ValueError, TypeError):
        raise NotFound("No such alert.") from None


@extend_schema(operation_id="alerts_retrieve", responses=AlertOutput)
@api_view(["GET"])
@permission_classes([IsPerson])
def alert_detail(request, pk):
    alert = _alert_for(request.user, pk)
    audit(request.user, alert.patient, "view", f"alert {alert.pk}")
    return Response(AlertOutput(alert).data)


@extend_schema(
    operation_id="alerts_acknowledge",
    request=AcknowledgeInput,
    responses={200: AlertOutput, 400: DetailOutput, 409: DetailOutput},
)
@api_view(["POST"])
@permission_classes([IsPerson])
def alert_acknowledge(request, pk):
    """Acknowledge with a note and an outcome; escalation stops. Twice answers 409."""
    alert = _alert_for(request.user, pk)
    data = AcknowledgeInput(data=request.data)
    data.is_valid(raise_exception=True)
    try:
        services.alert_acknowledge(
            alert=alert,
            by=request.user,
            note=data.validated_data["note"],
            outcome=data.validated_data["outcome"],
        )
    except services.AlreadyAcknowledged as exc:
        return Response({"detail": str(exc)}, status=status.HTTP_409_CONFLICT)
    return Response(AlertOutput(_alert_for(request.user, pk)).data)
