"""``{% load reports_tags %}``: the unread-reports badge and a patient's latest reports."""

from django import template

from reports.models import Report
from reports.services import notifications_unread

register = template.Library()


@register.simple_tag(takes_context=True)
def unread_reports_count(context) -> int:
    """Unread reports of the signed-in clinician (0 for anyone else): one indexed count, or
    none when the view already counted them (``unread_reports_total``, the report page)."""
    user = context.get("user")
    if user is None or not user.is_authenticated or user.is_patient or user.is_care_staff:
        return 0
    counted = context.get("unread_reports_total")
    return counted if counted is not None else notifications_unread(user).count()


@register.simple_tag
def latest_reports(patient, limit: int = 6):
    """The patient's latest reports (callers have already checked clinical access)."""
    return list(
        Report.objects.filter(patient=patient)
        .order_by("-period_end", "-pk")
        .only("pk", "period_start", "period_end", "kind", "created_at", "metrics")[:limit]
    )
