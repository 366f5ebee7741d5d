"""Front-desk fragments (issue #19): closed days and leave marked on the calendars."""

from django import template

from visits.models import AvailabilityException, ClosedDay

register = template.Library()


@register.simple_tag
def day_closures(center, day) -> dict:
    """Whether ``center`` is closed on ``day`` (and why), and who is on leave or training."""
    closed = ClosedDay.objects.filter(center=center, date=day).first()
    away = (
        AvailabilityException.objects.filter(center=center, date=day)
        .exclude(kind=AvailabilityException.Kind.EXTRA)
        .select_related("clinician")
        .order_by("clinician__last_name", "starts")
    )
    return {"closed": closed, "away": list(away)}


@register.simple_tag
def visit_notices(patient, limit: int = 5) -> list:
    """The patient's latest "moved" and "cancelled" messages (in-app copies, their language),
    from the last 30 days: what the patient reads on their own pages (issue #19 §3)."""
    import datetime as dt

    from django.utils import timezone

    from visits.models import VisitMessage

    since = timezone.now() - dt.timedelta(days=30)
    return list(
        VisitMessage.objects.filter(
            visit__patient=patient,
            kind__in=[VisitMessage.Kind.MOVED, VisitMessage.Kind.CANCELLED],
            status=VisitMessage.Status.SENT,
            sent_at__gte=since,
        )
        .exclude(text="")
        .order_by("-sent_at")[:limit]
    )


@register.simple_tag
def waitlist_offers(patient) -> list:
    """The patient's open waiting-list offers (issue #19 §5): the in-app copy of the message,
    on their own home page, with the way to take the time."""
    from visits.services import open_offers

    return list(open_offers(patient))
