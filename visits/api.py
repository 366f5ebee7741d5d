"""Visits API (DESIGN §4): list and book, a patient's visits, clinicians, visit types, free
slots, and the visit's actions. A booking the database refuses answers 409 with the next
free slots."""

import datetime as dt

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiParameter, OpenApiTypes, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.decorators import api_view, permission_classes
from rest_framework.exceptions import NotFound, PermissionDenied
from rest_framework.exceptions import ParseError as BadRequest  # 400 {"detail": "..."}
from rest_framework.pagination import PageNumberPagination
from rest_framework.response import Response

from accounts.access import (
    audit,
    get_patient_for,
    may_record_visit_results,
    may_see_clinical,
    patients_visible_to,
)
from accounts.models import User
from accounts.permissions import IsPerson
from common.api import paginated
from common.dates import LATEST_DAY, parse_day, parse_moment
from visits import services
from visits.forms import parse_id
from visits.models import Visit, VisitType
from visits.serializers import (
    ClinicianOutput,
    ConflictOutput,
    SlotOutput,
    VisitBookInput,
    VisitCancelInput,
    VisitCompleteInput,
    VisitOutput,
    VisitRescheduleInput,
    VisitRescheduleRequestInput,
    VisitTypeOutput,
    VisitWithResultsOutput,
)
from visits.services import selfbook

PAGINATED_VISITS = paginated(VisitOutput)  # one component, used by both visit lists
DetailOutput = inline_serializer("VisitDetailMessage", {"detail": serializers.CharField()})


def _schedulers_only(user: User) -> None:
    if user.is_patient:
        raise PermissionDenied("Patients ask their care center to book visits.")


def _conflict(exc: services.SlotTaken) -> Response:
    return Response(
        {
            "detail": exc.message,
            "conflict": exc.what,
            "next_free": SlotOutput(exc.next_free, many=True).data,
        },
        status=status.HTTP_409_CONFLICT,
    )


def _visits_page(request, visits):
    visits = visits.select_related("patient", "clinician", "visit_type", "room")
    for name, lookup in (("start", "start_at__gte"), ("end", "start_at__lt")):
        moment = parse_moment(request.query_params.get(name), name)  # 400 outside the calendar
        if moment is not None:
            visits = visits.filter(**{lookup: moment})
    if request.query_params.get("status"):
        if request.query_params["status"] not in Visit.Status.values:
            raise BadRequest(f"status must be one of {', '.join(Visit.Status.values)}.")
        visits = visits.filter(status=request.query_params["status"])
    paginator = PageNumberPagination()
    page = paginator.paginate_queryset(visits.order_by("start_at", "pk"), request)
    return paginator.get_paginated_response(VisitOutput(page, many=True).data)


def _get(model, pk, what: str):
    try:
        return model.objects.get(pk=pk)
    except (model.DoesNotExist, ValueError, TypeError):
        raise BadRequest(f"No such {what}: {pk}.") from None


VISIT_FILTERS = [
    OpenApiParameter("start", OpenApiTypes.DATETIME, description="visits starting from"),
    OpenApiParameter("end", OpenApiTypes.DATETIME, description="visits starting before"),
    OpenApiParameter("status", str, enum=[s for s, _ in Visit.Status.choices]),
]


@extend_schema(
    methods=["GET"],
    operation_id="visits_list",
    parameters=VISIT_FILTERS,
    responses=PAGINATED_VISITS,
)
@extend_schema(
    methods=["POST"],
    operation_id="visits_create",
    request=VisitBookInput,
    responses={
        201: VisitOutput,
        400: DetailOutput,
        403: DetailOutput,
        404: DetailOutput,
        409: ConflictOutput,
    },
)
@api_view(["GET", "POST"])
@permission_classes([IsPerson])
def visit_list(request):
    user = request.user
    if request.method == "GET":
        return _visits_page(request, services.visits_visible_to(user))
    data = VisitBookInput(data=request.data)
    data.is_valid(raise_exception=True)
    if user.is_patient:
        return _self_book(request, data.validated_data)
    try:
        patient = get_patient_for(user, data.validated_data["patient"], clinical=False)
    except Exception:
        raise BadRequest("No such patient.") from None
    clinician = _get(User, data.validated_data["clinician"], "clinician")
    visit_type = _get(VisitType, data.validated_data["visit_type"], "visit type")
    try:
        visit = services.visit_book(
            patient=patient,
            clinician=clinician,
            visit_type=visit_type,
            start=data.validated_data["start"],
            by=user,
        )
    except services.VisitError as exc:
        raise BadRequest(str(exc)) from None
    except services.SlotTaken as exc:
        return _conflict(exc)
    return Response(VisitOutput(visit).data, status=status.HTTP_201_CREATED)


def _own_patient(user: User, pk):
    """A patient's own record when ``pk`` names it; anyone else's is 404 (issue #19 §7)."""
    patient = getattr(user, "patient", None)
    if patient is None or (pk is not None and parse_id(str(pk)) != patient.pk):
        raise NotFound("No such patient.")
    return patient


def _self_book(request, data) -> Response:
    """A patient books for themselves: their care team, the types patients may book, the
    change window (``selfbook``); the same database rules (409 on a conflict)."""
    patient = _own_patient(request.user, data["patient"])
    clinician = _get(User, data["clinician"], "clinician")
    visit_type = _get(VisitType, data["visit_type"], "visit type")
    try:
        visit = selfbook.self_book(
            patient=patient,
            clinician=clinician,
            visit_type=visit_type,
            start=data["start"],
            by=request.user,
        )
    except services.VisitError as exc:
        raise BadRequest(str(exc)) from None
    except services.SlotTaken as exc:
        team = set(
            selfbook.care_team(patient=patient, visit_type=visit_type).values_list("pk", flat=True)
        )
        exc.next_free = [slot for slot in exc.next_free if slot.clinician_id in team]
        return _conflict(exc)
    return Response(VisitOutput(visit).data, status=status.HTTP_201_CREATED)


@extend_schema(
    operation_id="patients_visits_list",
    parameters=VISIT_FILTERS,
    responses=PAGINATED_VISITS,
)
@api_view(["GET"])
@permission_classes([IsPerson])
def patient_visits(request, pk):
    patient = get_patient_for(request.user, pk, clinical=False)
    return _visits_page(request, Visit.objects.filter(patient=patient))


@extend_schema(
    operation_id="visits_retrieve", responses={200: VisitWithResultsOutput, 404: DetailOutput}
)
@api_view(["GET"])
@permission_classes([IsPerson])
def visit_detail(request, pk):
    """The visit; its results too for whoever sees the patient's clinical data."""
    visit = get_object_or_404(services.visits_visible_to(request.user), pk=pk)
    if hasattr(visit, "completion") and may_see_clinical(request.user, visit.patient):
        audit(request.user, visit.patient, "view", f"visit {visit.pk} results")
    return Response(_visit_output(request, visit))


def _visit_output(request, visit) -> dict:
    """The visit; with its results for the patient's clinical team (never staff)."""
    if may_see_clinical(request.user, visit.patient):
        return VisitWithResultsOutput(visit).data
    return VisitOutput(visit).data


def _action(request, pk, input_class, run, *, patients_may: bool = False):
    visit = get_object_or_404(services.visits_visible_to(request.user), pk=pk)
    if request.user.is_patient and not patients_may:
        raise PermissionDenied("Ask your care center.")
    data = input_class(data=request.data) if input_class else None
    if data is not None:
        data.is_valid(raise_exception=True)
    try:
        visit = run(visit, data.validated_data if data is not None else {})
    except services.CheckInTooEarly as exc:  # the right visit, not its day yet: 409
        return Response({"detail": str(exc)}, status=status.HTTP_409_CONFLICT)
    except services.VisitError as exc:
        raise BadRequest(str(exc)) from None
    except services.SlotTaken as exc:
        return _conflict(exc)
    return Response(_visit_output(request, visit))


@extend_schema(
    operation_id="visits_reschedule",
    request=VisitRescheduleInput,
    responses={200: VisitOutput, 400: DetailOutput, 409: ConflictOutput},
)
@api_view(["POST"])
@permission_classes([IsPerson])
def visit_reschedule(request, pk):
    def run(visit, data):
        clinician = _get(User, data["clinician"], "clinician") if "clinician" in data else None
        return services.visit_reschedule(
            visit=visit, start=data["start"], by=request.user, clinician=clinician
        )

    return _action(request, pk, VisitRescheduleInput, run)


def _cancel(user: User, visit: Visit, reason: str) -> Visit:
    if user.is_patient:  # the center's change window (issue #19 §2)
        selfbook.check_patient_window(visit)
    return services.visit_cancel(visit=visit, by=user, reason=reason)


@extend_schema(
    operation_id="visits_cancel",
    request=VisitCancelInput,
    responses={200: VisitOutput, 400: DetailOutput},
)
@api_view(["POST"])
@permission_classes([IsPerson])
def visit_cancel(request, pk):
    return _action(
        request,
        pk,
        VisitCancelInput,
        lambda visit, data: _cancel(request.user, visit, data["reason"]),
        patients_may=True,
    )


@extend_schema(
    operation_id="visits_request_reschedule",
    request=VisitRescheduleRequestInput,
    responses={200: VisitOutput, 400: DetailOutput},
)
@api_view(["POST"])
@permission_classes([IsPerson])
def visit_request_reschedule(request, pk):
    return _action(
        request,
        pk,
        VisitRescheduleRequestInput,
        lambda visit, data: services.visit_request_reschedule(
            visit=visit, by=request.user, note=data["note"]
        ),
        patients_may=True,
    )


@extend_schema(
    operation_id="visits_check_in",
    request=None,
    responses={200: VisitOutput, 400: DetailOutput, 409: DetailOutput},
    description="On the visit's local day only (from VISIT_CHECK_IN_HOURS_BEFORE hours "
    "before it); earlier answers 409 with the reason.",
)
@api_view(["POST"])
@permission_classes([IsPerson])
def visit_check_in(request, pk):
    return _action(
        request, pk, None, lambda visit, data: services.visit_check_in(visit=visit, by=request.user)
    )


@extend_schema(
    operation_id="visits_no_show", request=None, responses={200: VisitOutput, 400: DetailOutput}
)
@api_view(["POST"])
@permission_classes([IsPerson])
def visit_no_show(request, pk):
    return _action(
        request,
        pk,
        None,
        lambda visit, data: services.visit_mark_no_show(visit=visit, by=request.user),
    )


@extend_schema(
    operation_id="visits_complete",
    request=VisitCompleteInput,
    responses={200: VisitWithResultsOutput, 400: DetailOutput},
)
@api_view(["POST"])
@permission_classes([IsPerson])
def visit_complete(request, pk):
    def run(visit, data):
        results = {k: v for k, v in data.items() if k != "checks_done" and v not in (None, "")}
        if results and not may_record_visit_results(request.user, visit.patient):
            raise PermissionDenied(
                "Results are recorded by the patient's clinical team; record which checks "
                "were done."
            )
        visit = services.visit_complete(
            visit=visit, by=request.user, checks_done=data["checks_done"], **results
        )
        if results:
            audit(request.user, visit.patient, "change", f"visit {visit.pk} results")
        return visit

    return _action(request, pk, VisitCompleteInput, run)


@extend_schema(
    operation_id="clinicians_list",
    parameters=[OpenApiParameter("visit_type", int, description="only those who take it")],
    responses=ClinicianOutput(many=True),
)
@api_view(["GET"])
@permission_classes([IsPerson])
def clinician_list(request):
    user = request.user
    _schedulers_only(user)
    visit_type = None
    if request.query_params.get("visit_type"):
        visit_type = _get(VisitType, request.query_params["visit_type"], "visit type")
    center = None if user.is_admin_role else user.care_center
    if center is None and not user.is_admin_role:
        return Response([])
    clinicians = services.clinicians_for(center=center, visit_type=visit_type)
    return Response(ClinicianOutput(clinicians, many=True).data)


@extend_schema(operation_id="visit_types_list", responses=VisitTypeOutput(many=True))
@api_view(["GET"])
@permission_classes([IsPerson])
def visit_type_list(request):
    return Response(VisitTypeOutput(VisitType.objects.filter(active=True), many=True).data)


@extend_schema(
    operation_id="visits_slots",
    parameters=[
        OpenApiParameter("visit_type", int, required=True),
        OpenApiParameter("date", OpenApiTypes.DATE, required=True, description="center's date"),
        OpenApiParameter("clinician", int, description="omit for first available"),
        OpenApiParameter("patient", int, description="also avoid this patient's visits"),
        OpenApiParameter("days", int, description="days from date (1–31, default 1)"),
    ],
    responses={200: SlotOutput(many=True), 400: DetailOutput},
)
@api_view(["GET"])
@permission_classes([IsPerson])
def visit_slots(request):
    """Free slots; a patient searches their own care team's, for the types patients may book
    (``patient`` may be left out or must be their own: anyone else's is 404)."""
    user = request.user
    params = request.query_params
    if not params.get("visit_type") or not params.get("date"):
        raise BadRequest("visit_type and date are required.")
    visit_type = _get(VisitType, params["visit_type"], "visit type")
    first = parse_day(params["date"], "date")  # 400 outside the calendar
    try:
        days = int(params.get("days", 1))
    except ValueError:
        raise BadRequest("days must be a whole number.") from None
    if not 1 <= days <= 31:
        raise BadRequest("days must be 1–31.")
    if first > LATEST_DAY - dt.timedelta(days=days):  # the search runs days forward
        raise BadRequest(f"date must be at most {LATEST_DAY - dt.timedelta(days=days)}.")
    clinician = _get(User, params["clinician"], "clinician") if params.get("clinician") else None
    if user.is_patient:
        patient = _own_patient(user, params.get("patient") or None)
        if not visit_type.patient_bookable or not visit_type.active:
            raise BadRequest("This type of visit is booked by the care center.")
        if patient.care_center is None:
            return Response([])
        slots = selfbook.self_slots(
            patient=patient, visit_type=visit_type, first=first, days=days, limit=None
        )
        if clinician is not None:
            slots = [slot for slot in slots if slot.clinician_id == clinician.pk]
        return Response(SlotOutput(slots, many=True).data)
    patient = None
    if params.get("patient"):
        patient = patients_visible_to(user).filter(pk=parse_id(params["patient"])).first()
        if patient is None:
            raise NotFound("No such patient.")
    center = (
        (clinician.care_center if clinician else None)
        or (patient.care_center if patient else None)
        or user.care_center
    )
    if center is None or (not user.is_admin_role and center != user.care_center):
        raise BadRequest("No care center to search.")
    slots = services.visit_slots(
        visit_type=visit_type,
        center=center,
        first=first,
        days=days,
        clinician=clinician,
        patient=patient,
    )
    return Response(SlotOutput(slots, many=True).data)
