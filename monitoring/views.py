"""The alert inbox (issue #20 §3): clinicians see the alerts that need someone, the header
count polls for new ones (htmx), an alert's page acknowledges (note + outcome) or snoozes it,
and the care team mutes a patient's non-urgent kinds. Staff and patients are refused (403):
they see nothing of this feature."""

from __future__ import annotations

import datetime as dt

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponseBadRequest
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from accounts.access import (
    alerts_visible_to,
    audit,
    audit_many,
    get_patient_for,
    may_edit_care_plan,
    may_use_alerts,
)
from monitoring import services
from monitoring.models import MUTABLE_KINDS, Alert

RECENT = dt.timedelta(hours=24)
POLL_AUDIT = dt.timedelta(seconds=15)  # the inbox polls every 5 s; new alerts are audited
SNOOZE_CHOICES = (15, 30, 60, 120)
MUTE_HOURS = (4, 12, 24, 72, 168)


def _refuse_others(user) -> None:
    if not may_use_alerts(user):
        raise PermissionDenied


def inbox_rows(user, now: dt.datetime) -> dict:
    """The inbox's two lists: alerts that need someone, and those settled in the last day."""
    alerts = alerts_visible_to(user).filter(live=True).select_related("patient")
    waiting = list(services.open_alerts(alerts).order_by("-opened_at")[:200])
    settled = list(
        alerts.exclude(pk__in=[a.pk for a in waiting])
        .filter(opened_at__gte=now - RECENT)
        .select_related("acknowledged_by")
        .order_by("-opened_at")[:100]
    )
    return {"waiting": waiting, "settled": settled}


@login_required
@require_safe
def alert_inbox(request):
    """The inbox page; an htmx poll (target ``alert-list``) gets the lists alone."""
    _refuse_others(request.user)
    now = timezone.now()
    context = inbox_rows(request.user, now)
    shown = context["waiting"] + context["settled"]
    polled = request.htmx and request.htmx.target == "alert-list"
    if polled:  # a poll records the alerts it brings, not every row again every 5 seconds
        shown = [a for a in shown if a.created_at >= now - POLL_AUDIT]
    audit_many(request.user, [a.patient_id for a in shown], "view", "alert inbox")
    if polled:
        return render(request, "monitoring/_inbox_list.html", context)
    return render(request, "monitoring/inbox.html", context)


@login_required
@require_safe
def alert_count(request):
    """The header's count of alerts that need someone (an htmx fragment, polled)."""
    _refuse_others(request.user)
    count = services.open_alerts(alerts_visible_to(request.user)).count()
    return render(request, "monitoring/_count.html", {"count": count})


def _alert_for(user, pk) -> Alert:
    _refuse_others(user)
    try:
        return alerts_visible_to(user).select_related("patient", "acknowledged_by").get(pk=pk)
    except (Alert.DoesNotExist, ValueError, TypeError):
        raise Http404("No such alert.") from None


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def alert_detail(request, pk):
    """One alert: what, who was told, and the forms to acknowledge or snooze it."""
    alert = _alert_for(request.user, pk)
    if request.method == "POST":
        return _act(request, alert)
    audit(request.user, alert.patient, "view", f"alert {alert.pk}")
    context = {
        "alert": alert,
        "notifications": alert.notifications.select_related("recipient"),
        "outcomes": Alert.Outcome.choices,
        "snooze_choices": SNOOZE_CHOICES,
    }
    return render(request, "monitoring/detail.html", context)


def _act(request, alert: Alert):
    action = request.POST.get("action")
    if action == "acknowledge":
        outcome = request.POST.get("outcome", "")
        if outcome not in Alert.Outcome.values:
            return HttpResponseBadRequest(_("Choose what was done."))
        try:
            services.alert_acknowledge(
                alert=alert, by=request.user, note=request.POST.get("note", ""), outcome=outcome
            )
        except services.AlreadyAcknowledged:
            messages.info(request, _("This alert had already been acknowledged."))
            return redirect("monitoring-alert", pk=alert.pk)
        messages.success(request, _("Alert acknowledged."))
        return redirect("monitoring-alerts")
    if action == "snooze":
        try:
            minutes = int(request.POST.get("minutes", ""))
        except ValueError:
            minutes = 0
        reason = request.POST.get("reason", "")
        if minutes not in SNOOZE_CHOICES or not reason.strip() or "\x00" in reason:
            return HttpResponseBadRequest(_("Choose how long and say why."))
        services.alert_snooze(alert=alert, by=request.user, minutes=minutes, reason=reason)
        messages.success(request, _("Escalation postponed."))
        return redirect("monitoring-alert", pk=alert.pk)
    return HttpResponseBadRequest(_("Acknowledge or snooze."))


@login_required
@require_POST
def patient_mute(request, pk):
    """The care team mutes a patient's non-urgent alert kinds for a while, with a reason."""
    patient = get_patient_for(request.user, pk)
    if not may_edit_care_plan(request.user, patient):
        raise PermissionDenied
    kinds = [k for k in request.POST.getlist("kinds") if k in MUTABLE_KINDS]
    try:
        hours = int(request.POST.get("hours", ""))
    except ValueError:
        hours = 0
    reason = request.POST.get("reason", "")
    if not kinds or hours not in MUTE_HOURS or not reason.strip():
        return HttpResponseBadRequest(_("Choose the kinds, how long, and say why."))
    services.patient_mute(patient=patient, by=request.user, kinds=kinds, hours=hours, reason=reason)
    messages.success(request, _("Those alerts are muted."))
    return redirect("patients-alerts", pk=patient.pk)
