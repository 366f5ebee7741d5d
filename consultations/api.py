"""Consultations API (issue #24 §5, DESIGN §4). Outside one's view: 404; a role that may never
use a route: 403; a refused body: 400 (413 for a photo over the size limit, or a body larger
than any accepted one could be).

Photos come as multipart files or, in a JSON body, as base64 strings or ``data:`` URLs
(``consultations.photos.photos_from_json``); both go through the same checks. A JSON body
larger than ``DATA_UPLOAD_MAX_MEMORY_SIZE`` (Django's limit for a body held in memory), or a
multipart body larger than five photos at the limit, is refused (413) from its declared length,
before it is read."""

from django.conf import settings
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.decorators import api_view, permission_classes
from rest_framework.exceptions import PermissionDenied
from rest_framework.pagination import PageNumberPagination
from rest_framework.response import Response

from accounts.access import get_patient_for
from accounts.permissions import IsPerson
from common.api import BodyTooLarge, declared_length, paginated
from consultations import services
from consultations.photos import (
    PHOTO_MAX_BYTES,
    PHOTOS_PER_MESSAGE,
    PhotoError,
    photos_from_json,
)
from consultations.serializers import (
    CloseInput,
    ConsultationCreateInput,
    ConsultationCreateJson,
    ConsultationOutput,
    DecideInput,
    MedicationRequestInput,
    MedicationRequestOutput,
    MessageInput,
    MessageJson,
    ThreadOutput,
)
from consultations.services import ConsultationError

DetailOutput = inline_serializer("ConsultationDetailMessage", {"detail": serializers.CharField()})
REFUSALS = {400: DetailOutput, 403: DetailOutput, 404: DetailOutput, 413: DetailOutput}


# Five photos at the size limit, the text and the multipart framing.
MULTIPART_MAX_BYTES = PHOTOS_PER_MESSAGE * PHOTO_MAX_BYTES + 1024 * 1024


def _limits() -> dict:
    return {"n": PHOTOS_PER_MESSAGE, "mb": PHOTO_MAX_BYTES // (1024 * 1024)}


def _refused(exc: ConsultationError) -> Response:
    return Response({"detail": exc.messages[0]}, status=exc.status)


def _fields(request) -> dict:
    """The body's fields (a JSON body that is not an object has none: the input says what is
    missing). A multipart body larger than any accepted one is refused before it is parsed."""
    length, limit = declared_length(request), settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    if request.content_type.startswith("multipart/"):
        if length > MULTIPART_MAX_BYTES:
            raise BodyTooLarge(
                _("The request is too large: send at most %(n)s photos of at most %(mb)s MB each.")
                % _limits()
            )
    elif limit is not None and length > limit:
        raise BodyTooLarge(
            _(
                "The request is larger than %(limit)s MB. Send at most %(n)s photos of at most "
                "%(mb)s MB each; base64 in JSON adds a third, so send large photos fewer at a "
                "time or as multipart/form-data."
            )
            % {**_limits(), "limit": limit // (1024 * 1024)}
        )
    data = request.data
    return data if hasattr(data, "get") else {}


def _photos(request, fields) -> list:
    """The photos sent: multipart files, and base64 strings or ``data:`` URLs (a JSON list,
    or text parts named ``photos``). Raises ``ConsultationError`` for a refused one."""
    try:
        if hasattr(fields, "getlist"):  # a form: files, and any photos sent as text
            texts = [t for t in fields.getlist("photos") if isinstance(t, str)]
            return request.FILES.getlist("photos") + (photos_from_json(texts) if texts else [])
        return photos_from_json(fields.get("photos"))
    except PhotoError as error:
        raise ConsultationError(str(error), status=error.status) from None


@extend_schema(
    methods=["GET"], operation_id="consultations_list", responses=paginated(ConsultationOutput)
)
@extend_schema(
    methods=["POST"],
    operation_id="consultations_create",
    request={
        "application/json": ConsultationCreateJson,
        "multipart/form-data": ConsultationCreateInput,
    },
    responses={201: ConsultationOutput, **REFUSALS},
)
@api_view(["GET", "POST"])
@permission_classes([IsPerson])
def consultation_list(request):
    """The patient's own consultations, or a clinician's inbox (waiting first, by due time).
    POST: a patient asks (JSON with up to 5 base64 ``photos``, or multipart with up to 5
    ``photos`` files)."""
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
    fields = _fields(request)
    data = ConsultationCreateInput(data={k: fields.get(k) for k in ("category", "text")})
    data.is_valid(raise_exception=True)
    try:
        consultation = services.consultation_ask(
            patient=user.patient,
            by=user,
            category=data.validated_data["category"],
            text=data.validated_data["text"],
            photos=_photos(request, fields),
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
    request={"application/json": MessageJson, "multipart/form-data": MessageInput},
    responses={201: ThreadOutput, 409: DetailOutput, **REFUSALS},
)
@api_view(["POST"])
@permission_classes([IsPerson])
def consultation_messages(request, pk):
    consultation = services.consultation_for(request.user, pk)
    if not services.may_write(request.user, consultation):
        raise PermissionDenied("Only the patient and their care team write here.")
    fields = _fields(request)
    data = MessageInput(data={"text": fields.get("text")})
    data.is_valid(raise_exception=True)
    try:
        services.consultation_post(
            consultation=consultation,
            by=request.user,
            text=data.validated_data["text"],
            photos=_photos(request, fields),
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
