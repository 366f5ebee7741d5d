"""Care-plan API (DESIGN §4): the current version, new versions, the version list, FHIR."""

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiResponse, OpenApiTypes, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.decorators import api_view, permission_classes
from rest_framework.exceptions import NotFound, PermissionDenied
from rest_framework.response import Response

from accounts.access import audit, get_patient_for, may_edit_care_plan
from accounts.permissions import IsPerson
from care_plans import fhir
from care_plans.serializers import (
    CarePlanInput,
    CarePlanOutput,
    CarePlanVersionSummaryOutput,
    flatten_errors,
)
from care_plans.services import (
    NothingChanged,
    care_plan_current,
    care_plan_default_content,
    care_plan_revise,
    prompt_resolve,
    targets_settle_preset,
)

# The plan's fields refused one by one ({field: [messages]}), or the request refused as a whole
# (a message: JSON that does not parse, a NUL at the door, ``diabetes_center``).
ValidationErrorOutput = {
    "type": "object",
    "properties": {
        "detail": {
            "oneOf": [
                {
                    "type": "object",
                    "additionalProperties": {"type": "array", "items": {"type": "string"}},
                },
                {"type": "string"},
            ]
        }
    },
    "required": ["detail"],
}
DetailOutput = inline_serializer("CarePlanDetailMessage", {"detail": serializers.CharField()})


@extend_schema(
    methods=["GET"],
    operation_id="patients_care_plan_retrieve",
    responses={200: CarePlanOutput, 404: DetailOutput},
)
@extend_schema(
    methods=["POST"],
    operation_id="patients_care_plan_create",
    request=CarePlanInput,
    responses={
        201: CarePlanOutput,
        400: ValidationErrorOutput,
        403: DetailOutput,
        409: OpenApiResponse(
            ValidationErrorOutput, description="Nothing changed: the plan is the current version."
        ),
    },
)
@api_view(["GET", "POST"])
@permission_classes([IsPerson])
def patient_care_plan(request, pk):
    """GET the current version; POST a new one (sections left out are carried over). A POST
    that changes nothing answers 409 with ``{"detail": {"__all__": [...]}}``: no copy is
    made of the current version."""
    patient = get_patient_for(request.user, pk)
    current = care_plan_current(patient=patient)
    if request.method == "POST":
        if not may_edit_care_plan(request.user, patient):
            raise PermissionDenied("Only the patient's endocrinologists may change the plan.")
        serializer = CarePlanInput(data=request.data)
        if not serializer.is_valid():
            return Response({"detail": flatten_errors(serializer.errors)}, status=400)
        data = dict(serializer.validated_data)
        reason = data.pop("reason")
        report_id = data.pop("responds_to_report", None)
        token = data.pop("prompt", None)
        prompt = prompt_resolve(patient, token) if token else None
        if token and prompt is None:
            return Response(
                {"detail": {"prompt": [_("Nothing of this patient's is named by this prompt.")]}},
                status=status.HTTP_400_BAD_REQUEST,
            )
        base = current.content if current else care_plan_default_content(patient=patient)
        targets = data.get("targets")
        if targets is not None and not targets.get("preset") and not targets.get("label"):
            # No preset named: the current one stays if the numbers did not change.
            targets = {**targets, "goals": targets.get("goals", [])}
            data["targets"] = targets_settle_preset(targets, base["targets"])
        try:
            version = care_plan_revise(
                patient=patient,
                by=request.user,
                reason=reason,
                content={**base, **data},
                responds_to_report_id=None if prompt else report_id,
                prompted_by=prompt,
            )
        except NothingChanged as exc:
            return Response({"detail": exc.message_dict}, status=status.HTTP_409_CONFLICT)
        except ValidationError as exc:
            return Response({"detail": exc.message_dict}, status=status.HTTP_400_BAD_REQUEST)
        audit(request.user, patient, "change", f"care plan v{version.number} (API)")
        return Response(CarePlanOutput(version).data, status=status.HTTP_201_CREATED)
    if current is None:
        raise NotFound("This patient has no care plan yet.")
    audit(request.user, patient, "view", "care plan (API)")
    return Response(CarePlanOutput(current).data)


@extend_schema(
    operation_id="patients_care_plan_versions_list",
    responses=CarePlanVersionSummaryOutput(many=True),
)
@api_view(["GET"])
@permission_classes([IsPerson])
def patient_care_plan_versions(request, pk):
    patient = get_patient_for(request.user, pk)
    versions = (
        patient.care_plan.versions.select_related("created_by").order_by("-number")
        if hasattr(patient, "care_plan")
        else []
    )
    audit(request.user, patient, "view", "care plan versions (API)")
    return Response(CarePlanVersionSummaryOutput(versions, many=True).data)


@extend_schema(
    operation_id="patients_care_plan_fhir_retrieve",
    responses={
        200: OpenApiResponse(OpenApiTypes.OBJECT, description="FHIR R4 Bundle (collection)"),
        404: DetailOutput,
    },
)
@api_view(["GET"])
@permission_classes([IsPerson])
def patient_care_plan_fhir(request, pk):
    patient = get_patient_for(request.user, pk)
    current = care_plan_current(patient=patient)
    if current is None:
        raise NotFound("This patient has no care plan yet.")
    audit(request.user, patient, "export", "care plan (FHIR)")
    bundle = fhir.care_plan_bundle(version=current, base_url=request.build_absolute_uri("/"))
    return Response(bundle, content_type="application/fhir+json")
