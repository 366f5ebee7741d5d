"""The on-call rota and the center's lead (issue #20 §3), set by the center's staff and admins.

- ``rota_clinicians``: who may be on call or lead a center: its active endocrinologists (the
  people who may read alerts, ``accounts.access.may_use_alerts``).
- ``local_instant``: a wall-clock date and time in the center's zone as an instant; a time the
  clocks skip (spring forward) is refused, a repeated one (autumn) is its first occurrence.
- ``shift_add``: validates (end after start, not over, at most ``MAX_SHIFT``, no overlap with
  the same clinician's shifts) and stores a shift; returns it with the other clinicians' shifts
  it overlaps (allowed: two on call at once are both told; the page says so).
- ``shift_remove``, ``lead_set``. Every change is audited.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.access import audit
from accounts.models import AuditEvent, CareCenter, User
from monitoring.models import CenterLead, OnCallShift

MAX_SHIFT = dt.timedelta(days=14)


class RotaError(ValueError):
    """A shift or lead that cannot be stored; the message is for the person (translated)."""


def rota_clinicians(center: CareCenter):
    return User.objects.filter(
        care_center=center, role=User.Role.ENDOCRINOLOGIST, is_active=True
    ).order_by("last_name", "first_name", "username")


def local_instant(day: dt.date, time: dt.time, zone: str) -> dt.datetime:
    """``day`` ``time`` on the wall clocks of ``zone``, as an aware UTC instant. RotaError for
    a time that does not exist there (skipped when the clocks go forward)."""
    tz = zoneinfo.ZoneInfo(zone)
    local = dt.datetime.combine(day, time, tzinfo=tz)
    back = local.astimezone(dt.UTC).astimezone(tz)
    if back.replace(tzinfo=None) != local.replace(tzinfo=None):
        raise RotaError(
            _("%(day)s %(time)s does not exist in %(zone)s (the clocks go forward then).")
            % {"day": day.isoformat(), "time": time.strftime("%H:%M"), "zone": zone}
        )
    return local.astimezone(dt.UTC)


def _audit(by, center: CareCenter, what: str) -> None:
    audit(by, None, AuditEvent.Action.CHANGE, f"on-call rota, {center}: {what}")


def shift_add(
    *,
    center: CareCenter,
    clinician: User,
    start: dt.datetime,
    end: dt.datetime,
    by,
    now: dt.datetime | None = None,
) -> tuple[OnCallShift, list[OnCallShift]]:
    """Store a shift; returns it and the other clinicians' shifts it overlaps."""
    now = now or timezone.now()
    if not rota_clinicians(center).filter(pk=clinician.pk).exists():
        raise RotaError(_("Only the center's endocrinologists can be on call."))
    if end <= start:
        raise RotaError(_("A shift must end after it starts."))
    if end <= now:
        raise RotaError(_("This shift is already over."))
    if end - start > MAX_SHIFT:
        raise RotaError(_("A shift is at most 14 days long: add several."))
    with transaction.atomic():
        # One add per center at a time, so two people cannot add clashing shifts at once.
        CareCenter.objects.select_for_update().filter(pk=center.pk).first()
        overlapping = OnCallShift.objects.filter(center=center, start__lt=end, end__gt=start)
        if overlapping.filter(clinician=clinician).exists():
            raise RotaError(_("This clinician is already on call during part of that time."))
        others = list(overlapping.select_related("clinician"))
        shift = OnCallShift.objects.create(center=center, clinician=clinician, start=start, end=end)
        _audit(
            by, center, f"added shift {clinician.username} {start.isoformat()}–{end.isoformat()}"
        )
    return shift, others


def shift_remove(*, shift: OnCallShift, by) -> None:
    center, what = (
        shift.center,
        f"removed shift {shift.clinician.username} {shift.start.isoformat()}",
    )
    shift.delete()
    _audit(by, center, what)


def lead_set(*, center: CareCenter, lead: User | None, by) -> None:
    """The clinician an alert reaches last; None removes the lead."""
    if lead is not None and not rota_clinicians(center).filter(pk=lead.pk).exists():
        raise RotaError(_("Only the center's endocrinologists can lead it."))
    with transaction.atomic():
        if lead is None:
            CenterLead.objects.filter(center=center).delete()
            _audit(by, center, "lead removed")
        else:
            CenterLead.objects.update_or_create(center=center, defaults={"lead": lead})
            _audit(by, center, f"lead {lead.username}")
