from django.db import transaction
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.decorators import api_view, permission_classes
from rest_framework.exceptions import PermissionDenied
from rest_framework.pagination import PageNumberPagination
from rest_framework.response import Response

from accounts.access import (
    audit,
    get_patient_for,
    patients_visible_to,
)
from accounts.permissions import IsPerson
from common.api import paginated
from patients.models import Consent
from patients.serializers import (
    CLINICAL_FIELDS,
    PatientInput,
    PatientOutput,
)


@extend_schema(methods=["GET"], operation_id="patients_list", responses=paginated(PatientOutput))
@extend_schema(
    methods=["POST"], operation_id="patients_create", request=PatientInput, responses=PatientOutput
)
@api_view(["GET", "POST"])
@permission_classes([IsPerson])
def patient_list(request):
    user = request.user
    if request.method == "POST":
        if not (user.is_care_staff or user.is_endocrinologist or user.is_admin_role):
            raise PermissionDenied("Only clinicians and staff may register patients.")
        serializer = PatientInput(data=request.data)
        serializer.is_valid(raise_exception=True)
        with transaction.atomic():
            patient = serializer.save(care_center=user.care_center)
            if user.is_endocrinologist:
                patient.endocrinologists.add(user)
            audit(user, patient, "create", "patient record")
        return Response(PatientOutput(patient).data, status=status.HTTP_201_CREATED)
    if user.is_patient:
        raise PermissionDenied("Patients see only their own record.")
    patients = patients_visible_to(user).select_related("care_center").order_by("name", "pk")
    paginator = PageNumberPagination()
    page = paginator.paginate_queryset(patients.prefetch_related("endocrinologists"), request)
    return paginator.get_paginated_response(PatientOutput(page, many=True).data)


@extend_schema(methods=["GET"], operation_id="patients_retrieve", responses=PatientOutput)
@extend_schema(
    methods=["PATCH"], operation_id="patients_update", request=PatientInput, responses=PatientOutput
)
@api_view(["GET", "PATCH"])
@permission_classes([IsPerson])
def patient_detail(request, pk):
    patient = get_patient_for(request.user, pk, clinical=False)
    if request.method == "PATCH":
        if request.user.is_patient:
            raise PermissionDenied("Ask your care team to change your record.")
        serializer = PatientInput(patient, data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        if request.user.is_care_staff:
            clinical = sorted(
                name
                for name in CLINICAL_FIELDS
                if name in serializer.validated_data
                and serializer.validated_data[name] != getattr(patient, name)
            )
            if clinical:
                raise PermissionDenied(
                    f"Staff may not change clinical fields ({', '.join(clinical)}); "
                    "ask the patient's endocrinologist."
                )
        patient = serializer.save()
        audit(request.user, patient, "change", "patient record")
    else:
        audit(request.user, patient, "view", "patient record (API)")
    return Response(PatientOutput(patient).data)


class ConsentInput(serializers.Serializer):
    topic = serializers.ChoiceField(choices=Consent.Topic.choices)
    given = serializers.BooleanField()


class ConsentOutput(serializers.Serializer):
    topic = serializers.CharField()
    given = serializers.BooleanField()
    version = serializers.CharField()
    text = serializers.CharField()
    at = serializers.DateTimeField()


@extend_schema(
    operation_id="patients_consents_create", request=ConsentInput, responses={201: ConsentOutput}
)
@api_view(["POST"])
@permission_classes([IsPerson])
def patient_consents(request, pk):
    """The patient gives or withdraws one consent (``care``, ``follower_apps``,
    ``remote_monitoring``): a new dated record, as on the privacy page. Only the patient."""
    from patients.consent import consent_record

    patient = get_patient_for(request.user, pk, clinical=False)
    if patient.user_id != request.user.pk:
        raise PermissionDenied("Only the patient gives or withdraws their consent.")
    data = ConsentInput(data=request.data)
    data.is_valid(raise_exception=True)
    consent = consent_record(
        patient=patient,
        topic=data.validated_data["topic"],
        given=data.validated_data["given"],
        by=request.user,
    )
    return Response(ConsentOutput(consent).data, status=status.HTTP_201_CREATED)
