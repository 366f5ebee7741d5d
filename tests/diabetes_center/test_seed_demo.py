from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from accounts.models import User
from care_plans.models import CarePlanVersion
from patients.consent import TOPICS
from patients.models import Consent, Patient
from readings.models import DailyRollup, Reading


def run(*args) -> str:
    out = StringIO()
    call_command("seed_demo", *args, stdout=out)
    return out.getvalue()


def test_it_seeds_people_data_and_plans_and_prints_the_accounts(db):
    output = run("--patients", "5", "--days", "3")
    roles = set(User.objects.values_list("role", flat=True))
    assert roles == {"admin", "endocrinologist", "staff", "patient", "nurse", "dietitian"}
    assert Patient.objects.count() == 5
    for username in ("admin", "dr.chen", "staff.kim", "patient01"):
        assert username in output
    assert Reading.objects.filter(kind="cgm").exists()
    assert Reading.objects.filter(kind="smbg").exclude(meal_tag="").exists()  # meter-only
    assert not Reading.objects.filter(timestamp__gt=timezone.now()).exists()
    assert DailyRollup.objects.exists()
    assert CarePlanVersion.objects.count() >= 5
    assert User.objects.get(username="dr.okafor").check_password("demo1234!")
    # Every demo patient agreed to care with the current wording, by their own account.
    for patient in Patient.objects.select_related("user"):
        (consent,) = patient.consents.filter(topic="care")
        assert (consent.topic, consent.given, consent.by) == ("care", True, patient.user)
        assert consent.version == TOPICS[Consent.Topic.CARE]["version"]
    # Remote monitoring: CGM patients who consented themselves, enrolled; a lead and a rota.
    from monitoring.models import CenterLead, Enrolment, OnCallShift

    enrolled = Enrolment.objects.filter(active=True).select_related("patient__user")
    assert enrolled.exists()
    for enrolment in enrolled:
        (consent,) = enrolment.patient.consents.filter(topic="remote_monitoring")
        assert (consent.given, consent.by) == (True, enrolment.patient.user)
    assert CenterLead.objects.exists() and OnCallShift.objects.count() == 14


def test_it_changes_nothing_when_run_twice(db):
    run("--patients", "3", "--days", "2")
    readings = Reading.objects.count()
    output = run("--patients", "3", "--days", "2")
    assert "already present" in output
    assert Reading.objects.count() == readings and Patient.objects.count() == 3


def test_it_refuses_production_mode_unless_forced(db, settings):
    settings.PRODUCTION_MODE = True
    with pytest.raises(CommandError, match="production mode"):
        run("--patients", "1", "--days", "1")
    assert not User.objects.exists()
    run("--patients", "1", "--days", "1", "--force")
    assert User.objects.filter(username="admin").exists()
