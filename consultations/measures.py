"""The population view's consultation figures per center and per clinician, over the last
``WEEKS`` weeks of questions the viewer may see (``consultations_visible_to``); the arithmetic
is ``consultations.figures`` (pure), the business hours ``consultations.hours``."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone

from accounts.models import User
from consultations import hours
from consultations.figures import summarize
from consultations.services import consultations_visible_to, opening_week

WEEKS = 12


def consultation_measures(user: User, *, now: dt.datetime | None = None) -> dict:
    """``{"weeks", "centers": [{"name", ...figures}], "clinicians": [{"name", ...}]}``;
    a clinician's rows are the questions they answered first."""
    now = now or timezone.now()
    since = now - dt.timedelta(weeks=WEEKS)
    rows = list(
        consultations_visible_to(user)
        .filter(created_at__gte=since)
        .select_related("patient__care_center", "first_answer_by")
        .order_by("created_at")
    )
    weeks_of = {}
    groups: dict[tuple, tuple[list, list]] = {}
    for c in rows:
        center = c.patient.care_center
        key = center.pk if center else None
        if key not in weeks_of:
            weeks_of[key] = (*opening_week(center), center.timezone if center else "UTC")
        week, closed, tz = weeks_of[key]
        limit = c.service_hours * 3600
        if c.first_answer_at is not None:
            taken = hours.business_seconds_between(
                c.created_at, c.first_answer_at, week, tz, closed
            )
            answer, within = taken / 3600, taken <= limit
        else:
            answer = None
            elapsed = hours.business_seconds_between(c.created_at, now, week, tz, closed)
            within = False if elapsed > limit else None
        names = [("center", center.name if center else "—")]
        if c.first_answer_by is not None:
            names.append(("clinician", str(c.first_answer_by)))
        for name in names:
            answers, withins = groups.setdefault(name, ([], []))
            answers.append(answer)
            withins.append(within)
    out = {"weeks": WEEKS, "centers": [], "clinicians": []}
    for (kind, name), (answers, withins) in sorted(groups.items()):
        out[f"{kind}s"].append({"name": name, **summarize(answers, withins, weeks=WEEKS)})
    return out
