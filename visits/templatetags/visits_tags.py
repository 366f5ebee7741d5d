"""Visit fragments other pages include: the patient panel, staff's today, the next visit."""

import datetime as dt

from django import template
from django.utils import timezone

from accounts.access import patients_visible_to
from visits import scheduling, services
from visits.models import Visit

register = template.Library()


@register.simple_tag
def patient_visits(patient, user) -> dict:
    """Upcoming and recent visits of a patient the user may see (the page checked that)."""
    now = timezone.now()
    visits = Visit.objects.filter(patient=patient).select_related(
        "clinician", "visit_type", "center", "room"
    )
    upcoming = visits.filter(
        end_at__gte=now, status__in=[Visit.Status.BOOKED, Visit.Status.CHECKED_IN]
    ).order_by("start_at")
    past = visits.exclude(pk__in=upcoming.values("pk")).order_by("-start_at")[:10]
    own = user.is_authenticated and patient.user_id == user.pk
    center_tz = patient.care_center.timezone if patient.care_center else "UTC"
    follow_up = services.follow_up_due(patient)  # the worklist's date, on every page
    return {
        "upcoming": list(upcoming),
        "past": list(past),
        "own": own,
        "tz": patient.timezone if own else center_tz,
        "due": follow_up["due"],
        "overdue": follow_up["overdue"],
        "may_book": not user.is_patient,
    }


@register.simple_tag
def todays_visits(user) -> dict:
    """Staff home: today's visits at the user's center and the worklist size."""
    center = user.care_center
    if center is None:
        return {"visits": [], "worklist_count": 0, "tz": "UTC"}
    tz = services.center_zone(center)
    today = timezone.localdate(timezone.now(), tz)
    start = scheduling.to_instant(today, dt.time(0), tz)
    end = scheduling.to_instant(today + dt.timedelta(days=1), dt.time(0), tz)
    visits = (
        Visit.objects.filter(
            center=center,
            patient__in=patients_visible_to(user),
            start_at__gte=start,
            start_at__lt=end,
        )
        .exclude(status=Visit.Status.CANCELLED)
        .select_related("patient", "clinician", "visit_type", "room")
        .order_by("start_at")
    )
    return {
        "visits": list(visits),
        "worklist_count": len(services.worklist(user=user)),
        "tz": center.timezone,
    }


@register.simple_tag
def next_visit(patient) -> dict:
    """The next open visit of a patient, and whether their follow-up is overdue."""
    found = services.next_visit_by_patient([patient.pk], patients=[patient])
    start, overdue = found.get(patient.pk, (None, False))
    return {"start": start, "overdue": overdue}


@register.simple_tag
def booking_invite(patient, user):
    """The patient's open booking invite (issue #19 §1), on their own home page only: the
    in-app channel, and the link again for an invite sent by e-mail or SMS."""
    if not (user.is_authenticated and patient.user_id == user.pk):
        return None
    invite = services.open_invites(patient).first()
    if invite is not None and not invite.link:
        invite.link = services.booking_link()
    return invite


@register.filter
def acr_text(mg_g):
    """A urine albumin/creatinine ratio kept in mg/g, as the display layer writes it: in
    mg/mmol and mg/g (issue #19 §5)."""
    from glycemia import display
    from visits.services.results import acr_mg_mmol

    return display.acr(acr_mg_mmol(mg_g), mg_g)


@register.filter
def egfr_text(value):
    """eGFR with its unit, as the display layer writes it."""
    from glycemia import display

    return display.egfr(value)
