"""Front-desk API (DESIGN §4, issue #19 §7): the staff worklist and a patient's outreach log.

``GET /api/v1/visits/worklist/`` — the worklist's rows, paginated like the other lists, with
``outreach`` (a state, or ``retry_due``) and ``sort`` (``due``, ``center``, ``clinician``);
everyone but patients, each seeing the patients they may see; staff never see clinical
reasons. Beside the page, ``booking_requests``: clinicians' open requests to book a patient
(with their reason, e.g. "asked in a consultation"), which
``POST /api/v1/visits/booking-requests/{id}/dismiss/`` takes off the worklist (audited; 409
when no longer open).

``GET/POST /api/v1/patients/{id}/outreach/`` — the attempts, and one more (201):
staff of the patient's center, the care team and admins; anyone else 404, patients 403.

The waiting list (issue #19 §5): ``GET/POST /api/v1/patients/{id}/waitlist/`` (the same
audience, and the patient themself), ``GET /api/v1/waitlist-offers/`` (open offers of the
patients one sees, a patient their own) and ``POST /api/v1/waitlist-offers/{id}/accept/``
(201 with the visit; 409 when someone else took the time first: "already taken").
"""

from django.shortcuts import get_object_or_404
from django.utils import timezone
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.decorators import api_view, permission_classes
from rest_framework.exceptions import NotFound, PermissionDenied
from rest_framework.exceptions import ParseError as BadRequest
from rest_framework.pagination import PageNumberPagination
from rest_framework.response import Response

from accounts.access import get_patient_for, patients_visible_to
from accounts.models import User
from accounts.permissions import IsPerson
from common.dates import validate_day
from visits import services
from visits.api import DetailOutput, _conflict
from visits.models import BookingRequest, VisitType
from visits.models_frontdesk import (
    Channel,
    Outcome,
    OutreachAttempt,
    WaitlistEntry,
    WaitlistOffer,
)
from visits.serializers import ConflictOutput, VisitOutput


class OutreachInput(serializers.Serializer):
    channel = serializers.ChoiceField(Channel.choices)
    outcome = serializers.ChoiceField(Outcome.choices)
    note = serializers.CharField(max_length=300, required=False, allow_blank=True, default="")
    retry_on = serializers.DateField(required=False, allow_null=True, validators=[validate_day])


class OutreachOutput(serializers.ModelSerializer):
    by = serializers.CharField(source="by.__str__", default=None)

    class Meta:
        model = OutreachAttempt
        fields = ["id", "patient", "channel", "outcome", "note", "retry_on", "by", "at"]


class WorklistRowOutput(serializers.Serializer):
    """One row; ``reason`` in staff terms (never the clinical reason)."""

    patient = serializers.IntegerField(source="patient.pk")
    name = serializers.CharField(source="patient.name")
    mrn = serializers.CharField(source="patient.mrn")
    phone = serializers.CharField(source="patient.phone")
    email = serializers.CharField()
    language = serializers.CharField(source="patient.language")
    preferred_channel = serializers.CharField(help_text='"phone", "sms", "email", "in_app" or ""')
    state = serializers.CharField(help_text='"urgent", "overdue" or "due"')
    no_show = serializers.BooleanField(help_text="missed the last visit, nothing booked since")
    reason = serializers.SerializerMethodField()
    due_date = serializers.DateField(source="due")
    checks_due = serializers.ListField(child=serializers.CharField(), source="checks")
    outreach_state = serializers.CharField(
        help_text='"not_contacted" or the latest outcome since the patient was last seen'
    )
    last_outreach = OutreachOutput(allow_null=True)
    suggested_visit_type = serializers.IntegerField(source="visit_type.pk", allow_null=True)
    suggested_visit_type_name = serializers.CharField(source="visit_type.label", allow_null=True)
    care_center = serializers.IntegerField(source="patient.care_center_id")
    clinicians = serializers.CharField()

    def get_reason(self, row) -> str:
        words = {"urgent": _("Urgent"), "overdue": _("Overdue"), "due": _("Due")}[row.state]
        return f"{words} · {_('No-show')}" if row.no_show else str(words)


class BookingRequestOutput(serializers.ModelSerializer):
    """A clinician's open request that the front desk book the patient a visit."""

    name = serializers.CharField(source="patient.name")
    reason_text = serializers.SerializerMethodField(help_text="the reason in words")
    requested_by = serializers.CharField(source="requested_by.__str__", default=None)
    dismissed = serializers.SerializerMethodField()

    class Meta:
        model = BookingRequest
        fields = [
            "id",
            "patient",
            "name",
            "reason",
            "reason_text",
            "requested_by",
            "created_at",
            "dismissed",
            "dismissed_at",
        ]

    def get_reason_text(self, item) -> str:
        return services.booking_request_reason(item.reason)

    def get_dismissed(self, item) -> bool:
        return item.dismissed_at is not None


def _worklist_page(serializer_class):
    return inline_serializer(
        name="PaginatedWorklist",
        fields={
            "count": serializers.IntegerField(),
            "next": serializers.URLField(allow_null=True),
            "previous": serializers.URLField(allow_null=True),
            "results": serializer_class(many=True),
            "booking_requests": BookingRequestOutput(many=True),
        },
    )


@extend_schema(
    operation_id="visits_worklist",
    parameters=[
        OpenApiParameter("outreach", str, enum=[*services.OUTREACH_STATES, services.RETRY_DUE]),
        OpenApiParameter("sort", str, enum=list(services.WORKLIST_SORTS)),
    ],
    responses=_worklist_page(WorklistRowOutput),
)
@api_view(["GET"])
@permission_classes([IsPerson])
def worklist(request):
    if request.user.is_patient:
        raise PermissionDenied("The worklist is the care center's.")
    outreach = request.query_params.get("outreach", "")
    sort = request.query_params.get("sort", "")
    states = (*services.OUTREACH_STATES, services.RETRY_DUE)
    if outreach and outreach not in states:
        raise BadRequest(f"outreach must be one of {', '.join(states)}.")
    if sort and sort not in services.WORKLIST_SORTS:
        raise BadRequest(f"sort must be one of {', '.join(services.WORKLIST_SORTS)}.")
    rows = services.worklist_view(
        services.worklist(user=request.user), outreach=outreach, sort=sort
    )
    paginator = PageNumberPagination()
    page = paginator.paginate_queryset(rows, request)
    response = paginator.get_paginated_response(WorklistRowOutput(page, many=True).data)
    requests = services.booking_requests_open(user=request.user)
    response.data["booking_requests"] = BookingRequestOutput(requests, many=True).data
    return response


@extend_schema(
    operation_id="visits_booking_requests_dismiss",
    request=None,
    responses={200: BookingRequestOutput, 409: DetailOutput},
)
@api_view(["POST"])
@permission_classes([IsPerson])
def booking_request_dismiss(request, pk):
    """Take a clinician's booking request off the worklist without booking (audited)."""
    if request.user.is_patient:
        raise PermissionDenied("Booking requests are the care center's.")
    item = services.booking_request_for(user=request.user, pk=pk)
    if item is None:
        raise NotFound("No such booking request.")
    try:
        item = services.booking_request_dismiss(booking_request=item, by=request.user)
    except services.VisitError as exc:
        return Response({"detail": str(exc)}, status=status.HTTP_409_CONFLICT)
    return Response(BookingRequestOutput(item).data)


@extend_schema(
    methods=["GET"], operation_id="patients_outreach_list", responses=OutreachOutput(many=True)
)
@extend_schema(
    methods=["POST"],
    operation_id="patients_outreach_create",
    request=OutreachInput,
    responses={201: OutreachOutput},
)
@api_view(["GET", "POST"])
@permission_classes([IsPerson])
def patient_outreach(request, pk):
    if request.user.is_patient:
        raise PermissionDenied("Outreach is logged by the care center.")
    patient = get_patient_for(request.user, pk, clinical=False)
    if request.method == "GET":
        attempts = OutreachAttempt.objects.filter(patient=patient).select_related("by")
        return Response(OutreachOutput(attempts.order_by("-at", "-pk"), many=True).data)
    data = OutreachInput(data=request.data)
    data.is_valid(raise_exception=True)
    try:
        attempt = services.outreach_record(patient=patient, by=request.user, **data.validated_data)
    except services.VisitError as exc:
        raise BadRequest(str(exc)) from None
    return Response(OutreachOutput(attempt).data, status=status.HTTP_201_CREATED)


# --- The waiting list (issue #19 §5) ----------------------------------------------------------


class WaitlistInput(serializers.Serializer):
    visit_type = serializers.IntegerField(min_value=1, max_value=2**62)
    clinician = serializers.IntegerField(
        min_value=1, max_value=2**62, required=False, allow_null=True, help_text="omit: any"
    )


class WaitlistOutput(serializers.ModelSerializer):
    class Meta:
        model = WaitlistEntry
        fields = ["id", "patient", "visit_type", "clinician", "active", "created_at"]


class WaitlistOfferOutput(serializers.ModelSerializer):
    patient = serializers.IntegerField(source="entry.patient_id")
    visit_type = serializers.IntegerField(source="entry.visit_type_id")
    start = serializers.DateTimeField(source="start_at")

    class Meta:
        model = WaitlistOffer
        fields = ["id", "patient", "visit_type", "clinician", "start", "status", "visit"]


@extend_schema(
    methods=["GET"], operation_id="patients_waitlist_list", responses=WaitlistOutput(many=True)
)
@extend_schema(
    methods=["POST"],
    operation_id="patients_waitlist_create",
    request=WaitlistInput,
    responses={201: WaitlistOutput},
)
@api_view(["GET", "POST"])
@permission_classes([IsPerson])
def patient_waitlist(request, pk):
    """A patient's waiting-list entries; POST adds one (the patient themself — the types
    patients book, their care team — or whoever schedules them)."""
    patient = get_patient_for(request.user, pk, clinical=False)
    if request.method == "GET":
        entries = WaitlistEntry.objects.filter(patient=patient).order_by("-created_at")
        return Response(WaitlistOutput(entries, many=True).data)
    data = WaitlistInput(data=request.data)
    data.is_valid(raise_exception=True)
    visit_type = VisitType.objects.filter(pk=data.validated_data["visit_type"], active=True).first()
    if visit_type is None:
        raise BadRequest("No such visit type.")
    clinician = None
    if data.validated_data.get("clinician"):
        clinician = User.objects.filter(pk=data.validated_data["clinician"]).first()
        if clinician is None:
            raise BadRequest("No such clinician.")
    try:
        entry = services.waitlist_add(
            patient=patient, visit_type=visit_type, clinician=clinician, by=request.user
        )
    except services.VisitError as exc:
        raise BadRequest(str(exc)) from None
    return Response(WaitlistOutput(entry).data, status=status.HTTP_201_CREATED)


def _offers_for(user):
    return WaitlistOffer.objects.filter(
        entry__patient__in=patients_visible_to(user)
    ).select_related("entry", "entry__patient", "entry__visit_type", "clinician")


@extend_schema(operation_id="waitlist_offers_list", responses=WaitlistOfferOutput(many=True))
@api_view(["GET"])
@permission_classes([IsPerson])
def waitlist_offers(request):
    """Open offers of the patients one sees (a patient: their own), soonest first."""
    offers = _offers_for(request.user).filter(
        status=WaitlistOffer.Status.OPEN, start_at__gt=timezone.now()
    )
    return Response(WaitlistOfferOutput(offers.order_by("start_at", "pk"), many=True).data)


@extend_schema(
    operation_id="waitlist_offers_accept",
    request=None,
    responses={201: VisitOutput, 400: DetailOutput, 409: ConflictOutput},
)
@api_view(["POST"])
@permission_classes([IsPerson])
def waitlist_offer_accept(request, pk):
    """Take the offered time: the patient themself, or whoever schedules them. The first
    to accept gets it; later ones 409 with the next free times."""
    offer = get_object_or_404(_offers_for(request.user), pk=pk)
    try:
        visit = services.waitlist_accept(offer=offer, by=request.user)
    except services.SlotTaken as exc:
        return _conflict(exc)
    except services.OfferTaken as exc:
        return Response({"detail": str(exc)}, status=status.HTTP_409_CONFLICT)
    except services.VisitError as exc:
        raise BadRequest(str(exc)) from None
    return Response(VisitOutput(visit).data, status=status.HTTP_201_CREATED)
