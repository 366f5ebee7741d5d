"""Front desk over the API (issue #19 §7): the worklist, the outreach log, check-in on the
visit's day only (409 before), completion with HbA1c in % or mmol/mol."""

import datetime as dt

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from tests.visits.conftest import at
from visits import services
from visits.models import OutreachAttempt, Visit


@pytest.fixture
def due(plan, patient):
    from care_plans.models import CarePlanVersion

    CarePlanVersion.objects.filter(pk=plan.pk).update(
        created_at=timezone.now() - dt.timedelta(days=100)
    )
    patient.phone = "+44 7700 900123"
    patient.save()
    return patient


def _outreach(client, patient, body):
    url = reverse("api-patients-outreach", args=[patient.pk])
    return client.post(url, body, content_type="application/json")


# --- Worklist and outreach ----------------------------------------------------------------


def test_it_lists_the_worklist_with_contact_and_outreach(client, staff, due, follow_up):
    client.force_login(staff)
    response = _outreach(
        client,
        due,
        {"channel": "phone", "outcome": "no_answer", "note": "rang twice", "retry_on": None},
    )
    assert response.status_code == 201, response.content
    assert response.json()["outcome"] == "no_answer" and response.json()["by"] == "sam"
    data = client.get(reverse("api-visits-worklist")).json()
    assert data["count"] == 1 and data["next"] is None
    (row,) = data["results"]
    assert row["patient"] == due.pk and row["name"] == due.name
    assert row["phone"] == "+44 7700 900123" and row["email"] == ""
    assert row["preferred_channel"] == "phone"
    assert row["reason"] == "Overdue" and row["outreach_state"] == "no_answer"
    assert row["due_date"] == (timezone.localdate() - dt.timedelta(days=10)).isoformat()
    assert row["suggested_visit_type"] == follow_up.pk
    assert row["last_outreach"]["note"] == "rang twice"
    filtered = client.get(reverse("api-visits-worklist"), {"outreach": "declined"}).json()
    assert filtered["count"] == 0
    for bad in ({"outreach": "maybe"}, {"sort": "age"}):
        assert client.get(reverse("api-visits-worklist"), bad).status_code == 400
    listed = client.get(reverse("api-patients-outreach", args=[due.pk])).json()
    assert [a["outcome"] for a in listed] == ["no_answer"]


def test_staff_never_read_the_clinical_reason(
    client, staff, alice, plan, patient, follow_up, monkeypatch
):
    monkeypatch.setattr(
        "readings.windows.rollup_metrics",
        lambda ids, **kw: {patient.pk: {"gri_zone": "E", "very_low_percent": 3.0}},
    )
    client.force_login(staff)
    (row,) = client.get(reverse("api-visits-worklist")).json()["results"]
    assert row["reason"] == "Urgent" and "GRI" not in str(row)


def test_outreach_is_refused_to_outsiders_and_patients(
    client, due, other_staff, patient_user, bob, admin_user, alice
):
    body = {"channel": "phone", "outcome": "reached"}
    for outsider in (other_staff, bob):  # another center's staff; not on the care team
        client.force_login(outsider)
        assert _outreach(client, due, body).status_code == 404
    client.force_login(patient_user)
    assert _outreach(client, due, body).status_code == 403
    assert client.get(reverse("api-visits-worklist")).status_code == 403
    for insider in (alice, admin_user):
        client.force_login(insider)
        assert _outreach(client, due, body).status_code == 201
    assert OutreachAttempt.objects.count() == 2


@pytest.mark.parametrize(
    "body",
    [
        {"channel": "fax", "outcome": "reached"},
        {"channel": "phone", "outcome": "yes"},
        {"channel": "phone", "outcome": "reached", "note": "x" * 301},
        {"channel": "phone", "outcome": "reached", "note": "a\u0000b"},
        {"channel": "phone", "outcome": "reached", "note": "\ud800"},
        {"channel": "phone", "outcome": "reached", "retry_on": "1999-01-01"},
        {"channel": "phone", "outcome": "reached", "retry_on": "99999-01-01"},
        {"channel": "phone", "outcome": "reached", "retry_on": 10**400},
        {"channel": ["phone"], "outcome": {"a": 1}},
        {},
    ],
)
def test_it_refuses_hostile_outreach(client, staff, due, body):
    import json

    client.force_login(staff)
    url = reverse("api-patients-outreach", args=[due.pk])
    response = client.post(url, json.dumps(body), content_type="application/json")
    assert response.status_code == 400, response.content
    assert not OutreachAttempt.objects.exists()


# --- Check-in on the visit's day -----------------------------------------------------------


@pytest.fixture(autouse=True)
def no_idle_sign_out(settings):
    settings.SESSION_IDLE_TIMEOUT_MINUTES = 0  # these tests move the clock by days


@pytest.fixture
def booked(clinic, patient, alice, follow_up, monday, staff):
    return services.visit_book(
        patient=patient, clinician=alice, visit_type=follow_up, start=at(monday, 14), by=staff
    )


def test_check_in_before_the_visits_day_answers_409_with_a_reason(client, staff, booked, monday):
    """Reported: a visit two days ahead could be checked in, then never completed."""
    client.force_login(staff)
    url = reverse("api-visits-check-in", args=[booked.pk])
    with time_machine.travel(at(monday - dt.timedelta(days=2), 14), tick=False):
        client.force_login(staff)
        response = client.post(url)
    assert response.status_code == 409 and "Check-in opens" in response.json()["detail"]
    with time_machine.travel(at(monday, 11, 59), tick=False):  # 2 h 1 min before
        assert client.post(url).status_code == 409
    with time_machine.travel(at(monday, 12, 0), tick=False):
        client.force_login(staff)
        response = client.post(url)
    assert response.status_code == 200 and response.json()["status"] == "checked_in"


def test_check_in_never_opens_the_evening_before(
    client, staff, clinic, patient, alice, follow_up, monday, settings
):
    settings.VISIT_CHECK_IN_HOURS_BEFORE = 12
    visit = services.visit_book(
        patient=patient, clinician=alice, visit_type=follow_up, start=at(monday, 9), by=staff
    )
    client.force_login(staff)
    url = reverse("api-visits-check-in", args=[visit.pk])
    with time_machine.travel(at(monday - dt.timedelta(days=1), 23, 30), tick=False):
        client.force_login(staff)
        assert client.post(url).status_code == 409
    with time_machine.travel(at(monday, 0, 0), tick=False):
        client.force_login(staff)
        assert client.post(url).status_code == 200


def test_the_page_offers_check_in_only_once_it_opens(client, staff, booked, monday):
    client.force_login(staff)
    with time_machine.travel(at(monday - dt.timedelta(days=2), 14), tick=False):
        client.force_login(staff)
        page = client.get(reverse("visits-detail", args=[booked.pk])).content.decode()
        assert "Check-in opens" in page
        client.post(reverse("visits-action", args=[booked.pk, "check-in"]))
    assert Visit.objects.get(pk=booked.pk).status == "booked"


# --- Completion with HbA1c in either unit ----------------------------------------------------


@pytest.fixture
def now_visit(clinic, patient, alice, follow_up):
    start = timezone.now() - dt.timedelta(minutes=10)
    return Visit.objects.create(
        patient=patient,
        clinician=alice,
        visit_type=follow_up,
        center=clinic,
        start_at=start,
        end_at=start + dt.timedelta(minutes=30),
    )


def _complete(client, visit, body):
    url = reverse("api-visits-complete", args=[visit.pk])
    return client.post(url, body, content_type="application/json")


@pytest.mark.parametrize(
    ("sent", "percent", "mmol_mol"),
    [
        ({"hba1c": "53", "hba1c_unit": "mmol/mol"}, "7.0", 53),  # NGSP/IFCC table
        ({"hba1c": "48", "hba1c_unit": "mmol/mol"}, "6.5", 48),
        ({"hba1c": "6.5", "hba1c_unit": "%"}, "6.5", 48),
        ({"hba1c_percent": "7.0"}, "7.0", 53),
        ({"hba1c": "64", "hba1c_unit": "mmol/mol"}, "8.0", 64),
    ],
)
def test_it_completes_with_hba1c_in_either_unit(client, alice, now_visit, sent, percent, mmol_mol):
    client.force_login(alice)
    response = _complete(client, now_visit, {"checks_done": ["hba1c"], **sent})
    assert response.status_code == 200, response.content
    data = response.json()
    assert data["hba1c_percent"] == percent and data["hba1c_mmol_mol"] == mmol_mol
    completion = Visit.objects.get(pk=now_visit.pk).completion
    assert str(completion.hba1c_percent) == percent and completion.hba1c_mmol_mol == mmol_mol


def test_it_records_the_other_results_as_data(client, alice, now_visit):
    client.force_login(alice)
    body = {
        "checks_done": [],
        "systolic_mm_hg": 132,
        "diastolic_mm_hg": 84,
        "weight_kg": "81.4",
        "egfr": 72,
        "urine_acr_mg_g": "25.0",
        "retinopathy_grade": "mild",
        "foot_risk": "1",
    }
    response = _complete(client, now_visit, body)
    assert response.status_code == 200, response.content
    results = response.json()["results"]
    assert (results["systolic_mm_hg"], results["diastolic_mm_hg"]) == (132, 84)
    assert results["weight_kg"] == "81.4" and results["foot_risk"] == "1"
    done = services.last_checks_done([now_visit.patient_id])[now_visit.patient_id]
    assert set(done) == {"blood_pressure", "kidneys", "eyes", "feet"}
    history = services.results_history(now_visit.patient)
    assert history[0]["egfr"] == 72


@pytest.mark.parametrize(
    "body",
    [
        {"hba1c": "53.5", "hba1c_unit": "mmol/mol"},
        {"hba1c": "7.0", "hba1c_unit": "mmol/mol"},
        {"hba1c": "53", "hba1c_unit": "%"},
        {"hba1c": "53"},
        {"hba1c": "53", "hba1c_unit": "mg/dL"},
        {"hba1c_unit": "%"},
        {"hba1c": "7.0", "hba1c_unit": "%", "hba1c_percent": "7.0"},
        {"hba1c": "NaN", "hba1c_unit": "%"},
        {"hba1c": 10**400, "hba1c_unit": "%"},
        {"systolic_mm_hg": 120},
        {"systolic_mm_hg": 80, "diastolic_mm_hg": 120},
        {"systolic_mm_hg": 900, "diastolic_mm_hg": 80},
        {"weight_kg": "0"},
        {"weight_kg": "1e9"},
        {"retinopathy_grade": "bad"},
        {"foot_risk": "4"},
        {"urine_acr_mg_g": "99999.9"},
        {"egfr": 0},
        {"urine_acr": "3", "urine_acr_unit": "mg/dL"},
        {"urine_acr": "3"},
        {"urine_acr_unit": "mg/g"},
        {"urine_acr": "3400", "urine_acr_unit": "mg/mmol"},
        {"urine_acr": "30000.1", "urine_acr_unit": "mg/g"},
        {"urine_acr": "-1", "urine_acr_unit": "mg/g"},
        {"urine_acr": "3", "urine_acr_unit": "mg/mmol", "urine_acr_mg_g": "26.5"},
        {"urine_acr": 10**400, "urine_acr_unit": "mg/g"},
        {"urine_acr": "NaN", "urine_acr_unit": "mg/g"},
        {"urine_acr": "3\u0000", "urine_acr_unit": "mg/g"},
        {"weight_kg": "80\u0000"},
        {"hba1c": "7", "hba1c_unit": "%\u0000"},
        {"systolic_mm_hg": 10**400, "diastolic_mm_hg": 80},
        {"egfr": "1e400"},
    ],
)
def test_it_refuses_nonsense_results(client, alice, now_visit, body):
    import json

    client.force_login(alice)
    url = reverse("api-visits-complete", args=[now_visit.pk])
    payload = json.dumps({"checks_done": ["hba1c"], **body})
    response = client.post(url, payload, content_type="application/json")
    assert response.status_code == 400, response.content
    assert Visit.objects.get(pk=now_visit.pk).status == "booked"


@pytest.mark.parametrize(
    ("sent", "mg_g", "mg_mmol"),
    [
        ({"urine_acr": "3", "urine_acr_unit": "mg/mmol"}, "26.5", "3.0"),
        ({"urine_acr": "30", "urine_acr_unit": "mg/g"}, "30.0", "3.4"),
        ({"urine_acr_mg_g": "300"}, "300.0", "33.9"),
    ],
)
def test_it_records_the_urine_albumin_creatinine_ratio_in_either_unit(
    client, alice, now_visit, sent, mg_g, mg_mmol
):
    client.force_login(alice)
    response = _complete(client, now_visit, {"checks_done": [], **sent})
    assert response.status_code == 200, response.content
    results = response.json()["results"]
    assert (results["urine_acr_mg_g"], results["urine_acr_mg_mmol"]) == (mg_g, mg_mmol)
    assert str(Visit.objects.get(pk=now_visit.pk).completion.urine_acr_mg_g) == mg_g
    # The kidney check is done as of the visit's day (no box ticked).
    done = services.last_checks_done([now_visit.patient_id])[now_visit.patient_id]
    assert done["kidneys"] == timezone.localdate(now_visit.start_at, now_visit.patient.tzinfo)


def test_staff_read_the_visit_without_its_results(client, staff, alice, now_visit):
    client.force_login(alice)
    _complete(
        client, now_visit, {"checks_done": ["hba1c"], "hba1c": "53", "hba1c_unit": "mmol/mol"}
    )
    client.force_login(staff)
    data = client.get(reverse("api-visits-detail", args=[now_visit.pk])).json()
    assert "hba1c_percent" not in data and "results" not in data
    client.force_login(alice)
    data = client.get(reverse("api-visits-detail", args=[now_visit.pk])).json()
    assert data["hba1c_mmol_mol"] == 53 and data["hba1c_percent"] == "7.0"
