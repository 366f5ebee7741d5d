"""The demo clinic: hours, weeks, every visit type, three months of history, four weeks ahead."""

import datetime as dt
from io import StringIO

from django.core.management import call_command
from django.utils import timezone

from accounts.models import User
from visits.demo import VISIT_TYPES
from visits.models import Availability, AvailabilityException, OpeningHours, Visit, VisitType
from visits.services import worklist


def test_it_seeds_a_working_clinic_once(db):
    call_command("seed_demo", "--patients", "16", "--days", "2", stdout=StringIO())
    now = timezone.now()
    assert set(VisitType.objects.values_list("code", flat=True)) == {t[0] for t in VISIT_TYPES}
    assert OpeningHours.objects.filter(weekday__lt=5).count() == 5
    clinicians = User.objects.filter(role__in=["endocrinologist", "nurse", "dietitian"])
    assert all(Availability.objects.filter(clinician=c).exists() for c in clinicians)
    assert set(AvailabilityException.objects.values_list("kind", flat=True)) == {
        "leave",
        "training",
        "extra",
    }
    past = Visit.objects.filter(start_at__lt=now)
    assert {"completed", "no_show", "cancelled"} <= set(past.values_list("status", flat=True))
    assert past.order_by("start_at").first().start_at > now - dt.timedelta(days=120)
    future = Visit.objects.filter(start_at__gte=now)
    assert set(future.values_list("status", flat=True)) == {"booked"}
    assert future.order_by("-start_at").first().start_at < now + dt.timedelta(days=29)
    rows = worklist(user=User.objects.get(username="staff.kim"))
    assert rows  # someone is due
    assert all(row.patient.phone and row.preferred_channel for row in rows)  # issue #19 §1
    count = Visit.objects.count()
    call_command("seed_demo", "--patients", "16", "--days", "2", stdout=StringIO())
    assert Visit.objects.count() == count
