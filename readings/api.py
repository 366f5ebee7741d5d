"""The readings REST API: readings, uploads, device tokens.

Every view: permission-checked lookup (``accounts.access``) → serializer → service → output.
Device tokens (``readings.auth``) may only POST readings for their own patient.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from django.db import transaction
from django.shortcuts import get_object_or_404
from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.decorators import api_view, parser_classes, permission_classes
from rest_framework.exceptions import PermissionDenied
from rest_framework.pagination import PageNumberPagination
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.permissions import BasePermission
from rest_framework.response import Response

from accounts.access import audit, get_patient_for
from accounts.permissions import IsPerson
from common.api import JSONParser, paginated
from common.dates import parse_day, parse_moment
from patients.models import Patient
from readings import serializers as s
from readings.forms import declared_too_large, upload_too_large_message
from readings.models import DeviceToken, Upload
from readings.services import (
    device_token_issue,
    readings_ingest,
    upload_create,
    upload_enqueue,
    upload_process,
)

SYNC_UPLOAD_MAX_BYTES = 5 * 1024 * 1024  # larger files are imported by a Celery worker


class IsPersonOrDevicePosting(BasePermission):
    """People, and upload-scope device tokens for POST (``_patient_for_writing`` narrows
    further to the token's own patient). Read-scope tokens are for Nightscout followers."""

    message = "Device tokens may only add readings (and only with the upload scope)."

    def has_permission(self, request, view):
        user = request.user
        if not (user and user.is_authenticated):
            return False
        if not getattr(user, "is_device", False):
            return True
        return request.method == "POST" and user.token.scope == DeviceToken.Scope.UPLOAD


class LenientJSONParser(JSONParser):
    """JSON that may hold NaN/Infinity (some uploaders write them): the body is still read and
    each such value becomes that row's error (``StrictNumberField``), not a 400 for all."""

    strict = False


def _patient_for_writing(request, pk) -> Patient:
    """The patient whose readings this request may add: its own for a device token."""
    user = request.user
    if getattr(user, "is_device", False):
        if str(user.patient_id) != str(pk):
            raise PermissionDenied("This device token belongs to another patient.")
        return Patient.objects.get(pk=user.patient_id)
    return get_patient_for(user, pk)


def _local_bound(text: str, patient: Patient, *, end: bool) -> dt.datetime:
    """``2024-05-01`` (local midnight; an end date is inclusive) or an ISO date-time; outside
    the calendar (``common.dates``) a 400."""
    name = "end" if end else "start"
    if len(text) == 10:
        day = parse_day(text, name)
        moment = dt.datetime.combine(day, dt.time(), tzinfo=ZoneInfo(patient.timezone))
    else:
        moment = parse_moment(text, name)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=ZoneInfo(patient.timezone))
    if len(text) == 10 and end:
        moment = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(), moment.tzinfo)
    return moment


@extend_schema(
    methods=["GET"],
    operation_id="patients_readings_list",
    parameters=[s.ReadingQueryInput],
    responses=paginated(s.ReadingOutput),
)
@extend_schema(
    methods=["POST"],
    operation_id="patients_readings_create",
    request=s.ReadingBatchSchema,
    responses=s.IngestResultOutput,
)
@api_view(["GET", "POST"])
@permission_classes([IsPersonOrDevicePosting])
@parser_classes([LenientJSONParser])
def patient_readings(request, pk):
    if request.method == "POST":
        patient = _patient_for_writing(request, pk)
        batch = s.ReadingBatchInput(data=request.data)
        batch.is_valid(raise_exception=True)
        with transaction.atomic():
            result = readings_ingest(
                patient=patient,
                items=s.batch_items(batch.validated_data["readings"]),
                rejected_limit=None,
            )
            if not getattr(request.user, "is_device", False):
                audit(request.user, patient, "change", "readings (API batch)")
        return Response(s.IngestResultOutput(result.as_dict()).data)
    patient = get_patient_for(request.user, pk)
    query = s.ReadingQueryInput(data=request.query_params)
    query.is_valid(raise_exception=True)
    params = query.validated_data
    readings = patient.readings.select_related("device").order_by("-timestamp", "pk")
    if "start" in params:
        readings = readings.filter(timestamp__gte=_local_bound(params["start"], patient, end=False))
    if "end" in params:
        bound = _local_bound(params["end"], patient, end=True)
        if len(params["end"]) == 10:  # a date: the whole local day is included
            readings = readings.filter(timestamp__lt=bound)
        else:
            readings = readings.filter(timestamp__lte=bound)
    if "kind" in params:
        readings = readings.filter(kind=params["kind"])
    audit(request.user, patient, "view", "readings (API)")
    paginator = PageNumberPagination()
    page = paginator.paginate_queryset(readings, request)
    data = s.ReadingOutput(page, many=True, context={"unit": params["unit"]}).data
    return paginator.get_paginated_response(data)


class UploadAccepted(serializers.Serializer):
    id = serializers.IntegerField()
    status = serializers.CharField()
    status_url = serializers.CharField()


@extend_schema(
    methods=["GET"], operation_id="patients_uploads_list", responses=paginated(s.UploadListOutput)
)
@extend_schema(
    methods=["POST"],
    operation_id="patients_uploads_create",
    request={"multipart/form-data": s.UploadInput},
    responses={201: s.UploadOutput, 202: UploadAccepted},
)
@api_view(["GET", "POST"])
@permission_classes([IsPerson])
@parser_classes([MultiPartParser, FormParser])
def patient_uploads(request, pk):
    # Staff import the files patients bring: they may upload and see counts, not values.
    patient = get_patient_for(request.user, pk, clinical=False)
    if request.method == "GET":
        paginator = PageNumberPagination()
        page = paginator.paginate_queryset(patient.uploads.order_by("-created_at", "-pk"), request)
        audit(request.user, patient, "view", "uploads list (API)")
        data = s.UploadListOutput(page, many=True, context={"request": request}).data
        return paginator.get_paginated_response(data)
    if declared_too_large(request):
        return Response(
            {"detail": upload_too_large_message()},
            status=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE,
        )
    form = s.UploadInput(data=request.data)
    form.is_valid(raise_exception=True)
    data = form.validated_data
    upload = upload_create(
        patient=patient,
        by=request.user,
        file=data["file"],
        filename=data["file"].name,
        requested_format=data["format"],
        timezone=data.get("timezone"),
    )
    audit(request.user, patient, "change", f"readings upload {upload.pk}")
    if upload.size_bytes > SYNC_UPLOAD_MAX_BYTES:
        upload_enqueue(upload)
        body = UploadAccepted(
            {"id": upload.pk, "status": upload.status, "status_url": _status_url(request, upload)}
        ).data
        return Response(body, status=status.HTTP_202_ACCEPTED)
    upload = upload_process(upload_id=upload.pk)
    if upload.status == Upload.Status.FAILED:
        return Response(
            {"detail": upload.error, "id": upload.pk}, status=status.HTTP_400_BAD_REQUEST
        )
    body = {**s.UploadOutput(upload, context={"request": request}).data, **upload.summary()}
    return Response(body, status=status.HTTP_201_CREATED)


def _status_url(request, upload: Upload) -> str:
    return s.UploadOutput(upload, context={"request": request}).get_status_url(upload)


@extend_schema(operation_id="uploads_retrieve", responses=s.UploadOutput)
@api_view(["GET"])
@permission_classes([IsPerson])
def upload_detail(request, pk):
    upload = get_object_or_404(Upload, pk=pk)
    patient = get_patient_for(request.user, upload.patient_id, clinical=False)
    audit(request.user, patient, "view", f"readings upload {upload.pk} (API)")
    return Response(s.UploadOutput(upload, context={"request": request}).data)


@extend_schema(
    methods=["GET"],
    operation_id="patients_device_tokens_list",
    responses=s.DeviceTokenOutput(many=True),
)
@extend_schema(
    methods=["POST"],
    operation_id="patients_device_tokens_create",
    request=s.DeviceTokenInput,
    responses={201: s.DeviceTokenIssuedOutput},
)
@api_view(["GET", "POST"])
@permission_classes([IsPerson])
def patient_device_tokens(request, pk):
    patient = get_patient_for(request.user, pk)
    if request.method == "POST":
        form = s.DeviceTokenInput(data=request.data)
        form.is_valid(raise_exception=True)
        scope = form.validated_data["scope"]
        if scope == DeviceToken.Scope.READ and patient.user_id != request.user.pk:
            raise PermissionDenied("Only the patient may let an app read their data.")
        token, key = device_token_issue(
            patient=patient, name=form.validated_data["name"], scope=scope, by=request.user
        )
        token.key = key
        return Response(s.DeviceTokenIssuedOutput(token).data, status=status.HTTP_201_CREATED)
    tokens = patient.device_tokens.order_by("-created_at", "-pk")
    return Response(s.DeviceTokenOutput(tokens, many=True).data)


@extend_schema(operation_id="patients_device_tokens_revoke", request=None, responses={204: None})
@api_view(["DELETE"])
@permission_classes([IsPerson])
def patient_device_token_revoke(request, pk, token_pk):
    patient = get_patient_for(request.user, pk)
    token = get_object_or_404(DeviceToken, pk=token_pk, patient=patient)
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])
        audit(request.user, patient, "change", f"device token {token.pk} revoked")
    return Response(status=status.HTTP_204_NO_CONTENT)
