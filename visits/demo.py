"""Demo clinic for ``seed_demo``: hours, rooms, each clinician's week, a nurse and a dietitian,
every visit type, ~3 months of past visits (completed, some no-shows, some cancelled) and the
next four weeks partly booked. Idempotent: does nothing when the center has visit types set up.

Past visits are written directly (the booking service refuses the past); they still go through
the database's no-overlap rules, because they are taken from the free-slot search one after
the other.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.models import CareCenter, User
from patients.models import Patient
from visits import scheduling, services
from visits.models import (
    Availability,
    AvailabilityException,
    ClosedDay,
    OpeningHours,
    Room,
    Visit,
    VisitChange,
    VisitCompletion,
    VisitType,
)

VISIT_TYPES = (
    # code, name, minutes, roles, mode, follow-up
    ("follow_up", "Follow-up", 30, "endocrinologist", "in_person", True),
    ("urgent", "Urgent review", 20, "endocrinologist", "in_person", True),
    ("video_review", "Video review", 20, "endocrinologist", "video", True),
    (
        "annual_review",
        "Annual review (eyes, kidneys, feet)",
        60,
        "endocrinologist",
        "in_person",
        True,
    ),
    ("education", "Diabetes education", 45, "nurse", "in_person", False),
    ("phone_check", "Nurse phone check", 15, "nurse", "phone", False),
    ("dietitian", "Dietitian consultation", 45, "dietitian", "in_person", False),
)
PATIENT_BOOKABLE = {"follow_up", "video_review", "annual_review"}  # issue #19 §2
EXTRA_CLINICIANS = (  # username, role, first, last
    ("nurse.lee", "nurse", "Grace", "Lee"),
    ("diet.mora", "dietitian", "Pablo", "Mora"),
)
T = dt.time
WEEKS = {  # username: [(weekdays, start, end, room)]
    "dr.chen": [((0, 2, 4), T(9), T(12, 30), "Room 1"), ((0, 2, 4), T(13, 30), T(17), "Room 1")],
    "dr.okafor": [((0, 1, 2, 3), T(9), T(13), "Room 2")],
    "dr.garcia": [((1, 3, 4), T(10), T(16), "Room 3")],
    "nurse.lee": [((0, 1, 2, 3, 4), T(9), T(15), "Education room")],
    "diet.mora": [((1, 3), T(9), T(13), "Room 4")],
}


def _setup(center: CareCenter, password_hash: str) -> dict[str, User]:
    for weekday in range(5):
        OpeningHours.objects.create(center=center, weekday=weekday, opens=T(8), closes=T(18))
    OpeningHours.objects.create(center=center, weekday=5, opens=T(9), closes=T(12))
    rooms = {
        name: Room.objects.create(center=center, name=name)
        for name in ("Room 1", "Room 2", "Room 3", "Room 4", "Education room")
    }
    today = timezone.localdate()
    for year in (today.year, today.year + 1):
        for month, day, reason in (
            (12, 25, "Christmas Day"),
            (12, 26, "Boxing Day"),
            (1, 1, "New Year's Day"),
        ):
            ClosedDay.objects.get_or_create(
                center=center, date=dt.date(year, month, day), defaults={"reason": reason}
            )
    for username, role, first, last in EXTRA_CLINICIANS:
        User.objects.get_or_create(
            username=username,
            defaults={
                "password": password_hash,
                "role": role,
                "care_center": center,
                "first_name": first,
                "last_name": last,
                "email": f"{username}@example.org",
            },
        )
    people = {u.username: u for u in User.objects.filter(username__in=WEEKS)}
    for username, sessions in WEEKS.items():
        for weekdays, starts, ends, room in sessions:
            for weekday in weekdays:
                Availability.objects.create(
                    clinician=people[username],
                    center=center,
                    weekday=weekday,
                    starts=starts,
                    ends=ends,
                    room=rooms[room],
                )
    next_monday = today + dt.timedelta(days=7 - today.weekday())
    AvailabilityException.objects.create(
        clinician=people["dr.okafor"], center=center, date=next_monday, kind="leave", note="Leave"
    )
    AvailabilityException.objects.create(
        clinician=people["dr.garcia"],
        center=center,
        date=next_monday + dt.timedelta(days=1),
        kind="training",
        starts=T(10),
        ends=T(13),
        note="Insulin pump training",
    )
    AvailabilityException.objects.create(
        clinician=people["dr.chen"],
        center=center,
        date=next_monday + dt.timedelta(days=5),
        kind="extra",
        starts=T(9),
        ends=T(12),
        room=rooms["Room 1"],
        note="Saturday clinic",
    )
    for code, name, minutes, roles, mode, follow_up in VISIT_TYPES:
        VisitType.objects.create(
            code=code,
            name=name,
            duration_minutes=minutes,
            roles=roles,
            mode=mode,
            is_follow_up=follow_up,
            patient_bookable=code in PATIENT_BOOKABLE,
        )
    return people


class _Book:
    """Hands out non-overlapping free slots of one clinician in a stretch of days."""

    def __init__(self, center, clinician, visit_type, first: dt.date, days: int):
        self.slots = services.visit_slots(
            visit_type=visit_type,
            center=center,
            first=first,
            days=days,
            clinician=clinician,
            not_before=scheduling.to_instant(first, T(0), services.center_zone(center)),
        )
        self.taken: list[tuple[dt.datetime, dt.datetime]] = []

    def candidates(self, after: dt.datetime):
        for slot in self.slots:
            if slot.start >= after and all(
                slot.end <= start or end <= slot.start for start, end in self.taken
            ):
                yield slot

    def take(self, slot: services.Slot) -> None:
        self.taken.append((slot.start, slot.end))


def _demo_contacts(center: CareCenter) -> None:
    """Contact details for the front desk's worklist (issue #19 §1): fictional numbers from
    Ofcom's drama range (+44 7700 900000–900999) and example.org addresses; every fifth
    patient has a phone only, every seventh notes SMS as the preferred channel."""
    from visits.models import ContactPreference

    for i, patient in enumerate(Patient.objects.filter(care_center=center).order_by("mrn")):
        patient.phone = f"+44 7700 900{i % 1000:03d}"
        patient.email = "" if i % 5 == 4 else f"{patient.mrn.lower()}@example.org"
        patient.save(update_fields=["phone", "email"])
        if i % 7 == 3:
            ContactPreference.objects.create(patient=patient, channel="sms")


def seed_visits(*, center: CareCenter, password_hash: str) -> int:
    """Set up the demo clinic and its visits; returns the number of visits (0 if present)."""
    if VisitType.objects.exists():
        return 0
    now = timezone.now()
    today = timezone.localdate()
    with transaction.atomic():
        people = _setup(center, password_hash)
        _demo_contacts(center)
        types = {t.code: t for t in VisitType.objects.all()}
        patients = list(
            Patient.objects.filter(care_center=center)
            .prefetch_related("endocrinologists")
            .order_by("mrn")
        )
        first = today - dt.timedelta(days=100)
        books = {}

        def book(clinician, code):
            key = (clinician.pk, code)
            if key not in books:
                books[key] = _Book(center, clinician, types[code], first, 129)
            return books[key]

        created = 0
        for i, patient in enumerate(patients):
            endo = patient.endocrinologists.first()
            if endo is None:
                continue
            # Past: the follow-up that sets the due date, and for some a missed or cancelled one.
            ago = (95, 80, 30, 100)[i % 4] + i % 7
            plan = [(ago, "follow_up", "completed")]
            if i % 4 == 3:
                plan.append((20 + i % 5, "follow_up", "no_show"))
            if i % 6 == 1:
                plan.append((45 + i % 9, "follow_up", "cancelled"))
            if i % 5 == 0:
                plan.append((60 + i % 11, "education", "completed"))
            # Future: patients seen a month ago are booked in the next four weeks.
            if i % 4 == 2 or i % 9 == 0:
                plan.append((-(3 + (i * 5) % 25), "follow_up", "booked"))
            if i % 7 == 0:
                plan.append((-(2 + i % 20), "education", "booked"))
            for days_ago, code, status in plan:
                clinician = endo if code == "follow_up" else people["nurse.lee"]
                visit = None
                for slot in book(clinician, code).candidates(now - dt.timedelta(days=days_ago)):
                    if slot.start < now and status == "booked":
                        break
                    try:
                        with transaction.atomic():  # the patient may be busy then
                            visit = Visit.objects.create(
                                patient=patient,
                                clinician_id=slot.clinician_id,
                                visit_type=types[code],
                                center=center,
                                room_id=slot.room_id,
                                start_at=slot.start,
                                end_at=slot.end,
                                status=status,
                                cancel_reason="Patient unwell" if status == "cancelled" else "",
                                closed_at=slot.end if status != "booked" else None,
                            )
                    except IntegrityError:
                        continue
                    if status != "cancelled":
                        book(clinician, code).take(slot)
                    break
                if visit is None:
                    continue
                VisitChange.objects.create(
                    visit=visit, at=slot.start - dt.timedelta(days=14), action="booked"
                )
                if status == "completed" and code == "follow_up":
                    VisitCompletion.objects.create(
                        visit=visit,
                        completed_by=endo,
                        completed_at=slot.end,
                        checks_done=["hba1c", "feet"] if i % 2 else ["hba1c"],
                        hba1c_percent=Decimal(str(round(6.4 + (i % 20) * 0.15, 1))),
                        feet="normal" if i % 2 else "",
                    )
                created += 1
    return created
