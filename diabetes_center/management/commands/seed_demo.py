"""``manage.py seed_demo``: a demo care center with clinicians, staff and patients with data.

Deterministic (fixed seeds); running it again changes nothing and prints the accounts again.
Readings go through the same ingestion path as uploads (``readings.services.readings_ingest``).
"""

import datetime as dt
import time

from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.test.utils import override_settings
from django.utils import timezone

from accounts.models import CareCenter, User
from care_plans.demo import seed_plans
from care_plans.models import CarePlanVersion
from diabetes_center.demo_suggestions import case_for, seed_case
from monitoring.demo import seed_monitoring
from patients.consent import consent_record
from patients.models import Consent, Patient
from readings.parsers import Reading
from readings.services import readings_ingest
from readings.simulate import CgmProfile, cgm_trace, meter_trace
from reports.demo import seed_reports
from visits.demo import EXTRA_CLINICIANS, seed_visits

DEMO_CENTER = "Diabetes Center Demo"
PASSWORD = "demo1234!"
TIMEZONES = (
    "Europe/London",
    "America/New_York",
    "Asia/Shanghai",
    "Europe/Bucharest",
    "America/Los_Angeles",
)
FIRST = ("Ana", "Wei", "James", "Mei", "Olu", "Sofia", "Li", "Omar", "Emma", "Chen", "Ravi", "Ines")
LAST = ("Smith", "Wang", "Garcia", "Zhang", "Okafor", "Rossi", "Liu", "Haddad", "Brown", "Popescu")
CLINICIANS = (
    ("dr.chen", "Lin", "Chen", "zh-hans", "mmol/L"),
    ("dr.okafor", "Ngozi", "Okafor", "en", "mg/dL"),
    ("dr.garcia", "Lucia", "Garcia", "en", "mg/dL"),
)
STAFF = (("staff.kim", "Jae", "Kim"), ("staff.novak", "Petra", "Novak"))


class Command(BaseCommand):
    help = "Create demo care center, clinicians, staff and patients with 90 days of data."

    def add_arguments(self, parser):
        parser.add_argument("--patients", type=int, default=64, help="number of patients (64)")
        parser.add_argument("--days", type=int, default=90, help="days of data (90)")
        parser.add_argument("--meter-share", type=float, default=0.2, help="meter-only share")
        parser.add_argument(
            "--force",
            action="store_true",
            help="seed even in production mode (DEBUG=0): creates an admin account with a "
            "published password, so never on a server holding real patients",
        )

    def handle(self, *args, patients: int, days: int, meter_share: float, **options):
        if settings.PRODUCTION_MODE and not options["force"]:
            raise CommandError(
                f"Refusing to seed demo accounts (admin / {PASSWORD!r}) in production mode "
                "(DEBUG=0). Use --force if this really is a demo server."
            )
        started = time.monotonic()
        if CareCenter.objects.filter(name=DEMO_CENTER).exists():
            self.stdout.write("Demo data already present; nothing changed.")
        else:
            self._seed(patients, days, meter_share)
            self.stdout.write(f"Seeded in {time.monotonic() - started:.1f} s.")
        self._print_accounts()

    def _seed(self, count: int, days: int, meter_share: float) -> None:
        # Hash the shared demo password once: a PBKDF2 hash per account would dominate the run.
        self.password_hash = make_password(PASSWORD)
        with transaction.atomic():
            center = CareCenter.objects.create(
                name=DEMO_CENTER, timezone="Europe/London", phone="+44 20 7946 0000"
            )
            admin = User.objects.create_superuser(
                "admin", "admin@example.org", None, role="admin", first_name="Ada"
            )
            admin.password = self.password_hash
            admin.save()
            clinicians = [
                User.objects.create(
                    username=username,
                    password=self.password_hash,
                    role="endocrinologist",
                    care_center=center,
                    first_name=first,
                    last_name=last,
                    language=language,
                    unit=unit,
                    email=f"{username}@example.org",
                )
                for username, first, last, language, unit in CLINICIANS
            ]
            for username, first, last in STAFF:
                User.objects.create(
                    username=username,
                    password=self.password_hash,
                    role="staff",
                    care_center=center,
                    first_name=first,
                    last_name=last,
                )
        end = timezone.now().date()
        start = end - dt.timedelta(days=days - 1)
        meter_every = round(1 / meter_share) if meter_share > 0 else 0
        for i in range(count):
            meter_only = bool(meter_every) and i % meter_every == meter_every - 1
            case = case_for(i, count)  # the last few: one plan-suggestion rule each (#21)
            self._seed_patient(
                i,
                center,
                clinicians[i % len(clinicians)],
                start,
                days,
                meter_only and not case,
                case=case,
            )
            self.stdout.write(f"\r  patients: {i + 1}/{count}", ending="")
            self.stdout.flush()
        self.stdout.write("")
        patients = list(Patient.objects.filter(care_center=center).order_by("mrn"))
        seed_plans(patients, clinicians)
        self.stdout.write(f"  care plans: {CarePlanVersion.objects.count()} versions")
        # The in-app unread lists get the demo reports; nobody needs 60 e-mails on the console.
        with override_settings(EMAIL_BACKEND="django.core.mail.backends.dummy.EmailBackend"):
            created = seed_reports([patient.pk for patient in patients])
        self.stdout.write(f"  reports: {created}")
        self.stdout.write(
            f"  visits: {seed_visits(center=center, password_hash=self.password_hash)}"
        )
        enrolled = seed_monitoring(center=center, clinicians=clinicians)
        self.stdout.write(f"  remote monitoring: {enrolled} patients enrolled, a night rota")

    def _seed_patient(self, i, center, clinician, start, days, meter_only, case=None) -> None:
        tz = TIMEZONES[i % len(TIMEZONES)]
        now_epoch = int(time.time())
        kind = "T2" if meter_only or i % 4 == 3 else ("GDM" if i % 23 == 7 else "T1")
        kind = case.diabetes_type if case else kind
        with transaction.atomic():
            user = User.objects.create(
                username=f"patient{i + 1:02d}",
                password=self.password_hash,
                role="patient",
                first_name=FIRST[i % len(FIRST)],
                last_name=LAST[i % len(LAST)],
                language="zh-hans" if tz == "Asia/Shanghai" else "en",
                unit="mmol/L"
                if tz in ("Asia/Shanghai", "Europe/London", "Europe/Bucharest")
                else "mg/dL",
            )
            patient = Patient.objects.create(
                mrn=f"DEMO{i + 1:04d}",
                name=f"{FIRST[i % len(FIRST)]} {LAST[i % len(LAST)]}",
                birth_date=dt.date(1950 + (i * 7) % 55, 1 + i % 12, 1 + (i * 3) % 28),
                sex="F" if i % 2 else "M",
                diabetes_type=kind,
                diagnosis_date=dt.date(2000 + i % 25, 1 + (i * 5) % 12, 1),
                timezone=tz,
                unit=user.unit,
                language=user.language,
                user=user,
                care_center=center,
            )
            patient.endocrinologists.add(clinician)
            # Demo patients agreed to care when they registered (the wording of TOPICS).
            consent_record(patient=patient, topic=Consent.Topic.CARE, given=True, by=user)
            if case is not None:
                seed_case(case, patient, author=clinician, start=start, days=days, seed=i)
                return
            if meter_only:
                seconds, values, tags = meter_trace(
                    start=start, days=days, tz=tz, mean=130 + (i * 13) % 70, seed=i
                )
                kind, device, flags = "smbg", "Accu-Chek Guide", [""] * len(tags)
            else:
                profile = CgmProfile(
                    mean=105 + (i * 17) % 100,
                    swing=1.0 + (i % 5) * 0.25,
                    nocturnal_lows=i % 3 == 0,
                    gap_rate=0.005 + (i % 4) * 0.01,
                )
                seconds, values, flags = cgm_trace(profile, start=start, days=days, tz=tz, seed=i)
                kind, device, tags = "cgm", "Dexcom G6", [""] * len(flags)
            rows = zip(seconds, values, flags, tags, strict=True)
            items = (
                Reading(
                    line=n + 1,
                    timestamp=dt.datetime.fromtimestamp(int(s), dt.UTC),
                    value_mg_dl=float(v),
                    kind=kind,
                    device=device,
                    flag=flag,
                    meal_tag=tag,
                )
                for n, (s, v, flag, tag) in enumerate(rows)
                if s <= now_epoch  # the simulated last day ends now, not at midnight
            )
            readings_ingest(patient=patient, items=items)

    def _print_accounts(self) -> None:
        self.stdout.write(f"\nSign-in accounts (password for all: {PASSWORD})")
        self.stdout.write("  admin         administrator (also /admin/)")
        for username, first, last, *_ in CLINICIANS:
            self.stdout.write(f"  {username:<13} endocrinologist {first} {last}")
        for username, first, last in STAFF:
            self.stdout.write(f"  {username:<13} care-center staff {first} {last}")
        for username, role, first, last in EXTRA_CLINICIANS:
            self.stdout.write(f"  {username:<13} {role} {first} {last}")
        examples = Patient.objects.filter(mrn__startswith="DEMO").order_by("mrn")[:3]
        for patient in examples.select_related("user"):
            if patient.user:
                self.stdout.write(
                    f"  {patient.user.username:<13} patient {patient.name} ({patient.mrn})"
                )
        self.stdout.write("  patient01 … patientNN: every demo patient has an account")
