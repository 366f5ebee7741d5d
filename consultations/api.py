"""Consultations API (issue #24 §5, DESIGN §4). Outside one's view: 404; a role that may never
use a route: 403; a refused body: 400 (413 for a photo over the size limit)."""

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.decorators import api_view, permission_classes
from rest_framework.exceptions import PermissionDenied
from rest_framework.pagination import PageNumberPagination
from rest_framework.response import Response

from accounts.access import get_patient_for
from accounts.permissions import IsPerson
from common.api import paginated
from consultations import services
from consultations.serializers import (
    CloseInput,
    ConsultationCreateInput,
    ConsultationOutput,
    DecideInput,
    MedicationRequestInput,
    MedicationRequestOutput,
    MessageInput,
    ThreadOutput,
)
from consultations.services import ConsultationError

DetailOutput = inline_serializer("ConsultationDetailMessage", {"detail": serializers.CharField()})
REFUSALS = {400: DetailOutput, 403: DetailOutput, 404: DetailOutput, 413: DetailOutput}


def _refused(exc: ConsultationError) -> Response:
    return Response({"detail": exc.messages[0]}, status=exc.status)


def _photos(request) -> list:
    return request.FILES.getlist("photos") if hasattr(request, "FILES") else []


@extend_schema(
    methods=["GET"], operation_id="consultations_list", responses=paginated(ConsultationOutput)
)
@extend_schema(
    methods=["POST"],
    operation_id="consultations_create",
    request={
        "application/json": ConsultationCreateInput,
        "multipart/form-data": ConsultationCreateInput,
    },
    responses={201: ConsultationOutput, **REFUSALS},
)
@api_view(["GET", "POST"])
@permission_classes([IsPerson])
def consultation_list(request):
    """The patient's own consultations, or a clinician's inbox (waiting first, by due time).
    POST: a patient asks (JSON, or multipart with up to 5 ``photos``)."""
    user = request.user
    if request.method == "GET":
        if user.is_patient:
            rows = services.consultations_visible_to(user).order_by("-created_at", "-pk")
        elif services.may_use_inbox(user):
            rows = services.inbox(user)
        else:
            raise PermissionDenied("Consultations are for the patient and their care team.")
        paginator = PageNumberPagination()
        page = paginator.paginate_queryset(rows, request)
        return paginator.get_paginated_response(ConsultationOutput(page, many=True).data)
    if not user.is_patient or getattr(user, "patient", None) is None:
        raise PermissionDenied("Patients ask their care team.")
    data = ConsultationCreateInput(data={k: request.data.get(k) for k in ("category", "text")})
    data.is_valid(raise_exception=True)
    try:
        consultation = services.consultation_ask(
            patient=user.patient,
            by=user,
            category=data.validated_data["category"],
            text=data.validated_data["text"],
            photos=_photos(request),
        )
    except ConsultationError as exc:
        return _refused(exc)
    return Response(ConsultationOutput(consultation).data, status=status.HTTP_201_CREATED)


@extend_schema(
    operation_id="consultations_retrieve", responses={200: ThreadOutput, 404: DetailOutput}
)
@api_view(["GET"])
@permission_classes([IsPerson])
def consultation_detail(request, pk):
    consultation = services.consultation_for(request.user, pk)
    services.consultation_read(request.user, consultation)
    return Response(ThreadOutput(consultation, context={"request": request}).data)


@extend_schema(
    operation_id="consultations_messages_create",
    request={"application/json": MessageInput, "multipart/form-data": MessageInput},
    responses={201: ThreadOutput, 409: DetailOutput, **REFUSALS},
)
@api_view(["POST"])
@permission_classes([IsPerson])
def consultation_messages(request, pk):
    consultation = services.consultation_for(request.user, pk)
    data = MessageInput(data={"text": request.data.get("text")})
    data.is_valid(raise_exception=True)
    try:
        services.consultation_post(
            consultation=consultation,
            by=request.user,
            text=data.validated_data["text"],
            photos=_photos(request),
        )
    except ConsultationError as exc:
        return _refused(exc)
    except DjangoPermissionDenied as exc:
        raise PermissionDenied(str(exc)) from None
    consultation.refresh_from_db()
    return Response(
        ThreadOutput(consultation, context={"request": request}).data,
        status=status.HTTP_201_CREATED,
    )


@extend_schema(
    operation_id="consultations_close",
    request=CloseInput,
    responses={200: ConsultationOutput, 409: DetailOutput, **REFUSALS},
)
@api_view(["POST"])
@permission_classes([IsPerson])
def consultation_close(request, pk):
    consultation = services.consultation_for(request.user, pk)
    if not services.is_care_team(request.user, consultation.patient):
        raise PermissionDenied("The care team closes a consultation.")
    data = CloseInput(data=request.data)
    data.is_valid(raise_exception=True)
    try:
        services.consultation_close(
            consultation=consultation, by=request.user, outcome=data.validated_data["outcome"]
        )
    except ConsultationError as exc:
        return _refused(exc)
    return Response(ConsultationOutput(consultation).data)


@extend_schema(
    operation_id="patients_medication_requests_create",
    request=MedicationRequestInput,
    responses={201: MedicationRequestOutput, **REFUSALS},
)
@api_view(["POST"])
@permission_classes([IsPerson])
def patient_medication_requests(request, pk):
    patient = get_patient_for(request.user, pk)
    if patient.user_id != request.user.pk:
        raise PermissionDenied("The patient asks for a repeat.")
    data = MedicationRequestInput(data=request.data)
    data.is_valid(raise_exception=True)
    try:
        item = services.medication_request_create(
            patient=patient, by=request.user, **data.validated_data
        )
    except ConsultationError as exc:
        return _refused(exc)
    return Response(MedicationRequestOutput(item).data, status=status.HTTP_201_CREATED)


@extend_schema(
    operation_id="medication_requests_decide",
    request=DecideInput,
    responses={200: MedicationRequestOutput, 409: DetailOutput, **REFUSALS},
)
@api_view(["POST"])
@permission_classes([IsPerson])
def medication_request_decide(request, pk):
    item = services.medication_request_for(request.user, pk)
    if not services.may_edit_care_plan(request.user, item.patient):
        raise PermissionDenied("The patient's endocrinologists decide.")
    data = DecideInput(data=request.data)
    data.is_valid(raise_exception=True)
    try:
        item = services.medication_request_decide(
            request=item, by=request.user, **data.validated_data
        )
    except ConsultationError as exc:
        return _refused(exc)
    return Response(MedicationRequestOutput(item).data)
