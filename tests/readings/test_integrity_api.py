"""Issue #11 on the API paths: error codes, strict types, plausible time, never a 500.

The three ways a device posts readings (Nightscout ``/ns/``, the REST batch, FHIR
``$submit-cgm-bundle``) each get a mixed array: good entries are stored, every bad one is a
row error with its reason, and the answer is never a 500.
"""

import datetime as dt
import json

import pytest
from django.urls import reverse

from readings.models import Reading, Treatment
from readings.services import nightscout_link_ensure
from tests.readings.helpers import login

NOW_MS = int(dt.datetime.now(dt.UTC).timestamp() * 1000)
HOUR_MS = 3_600_000


def sgv(value, date=None, **extra):
    return {
        "type": "sgv",
        "sgv": value,
        "date": NOW_MS - 2 * HOUR_MS if date is None else date,
        "device": "xDrip-DexcomG6",
        **extra,
    }


@pytest.fixture
def link(patient):
    return nightscout_link_ensure(patient=patient)


def ns_post(client, link, body):
    return client.post(
        f"/ns/{link.key}/api/v1/entries",
        body if isinstance(body, str) else json.dumps(body),
        content_type="application/json",
        HTTP_API_SECRET=link.api_secret,
    )


def stored(patient):
    return sorted(Reading.objects.filter(patient=patient).values_list("value_mg_dl", flat=True))


def test_it_never_stores_dexcom_error_codes_as_glucose_on_the_nightscout_api(client, link):
    body = [sgv(v, NOW_MS - HOUR_MS * 3 + i * 300_000) for i, v in enumerate((10, 10, 9, 5))]
    body.append(sgv(110, NOW_MS - HOUR_MS))
    response = ns_post(client, link, body)
    assert response.status_code == 200, response.content
    assert stored(link.patient) == [110.0]
    assert response["X-Rejected"] == "4"


def test_it_rejects_each_badly_typed_nightscout_entry_and_keeps_the_good_ones(client, link):
    bad = [
        sgv(True),
        sgv([120]),
        sgv({"v": 120}),
        sgv("12O"),
        sgv(120, date=1e20),
        sgv(120, date=True),
        sgv(120, date="tomorrow"),
        {"type": "sgv", "sgv": 120, "dateString": "0001-01-01T00:00:00+02:00"},
        {"type": "sgv", "sgv": 120, "dateString": "9999-12-31T23:00:00-05:00"},
        sgv(120, date=NOW_MS + 48 * HOUR_MS),  # the future
        sgv(120, date=-86_400_000),  # 1969
    ]
    good = [sgv(130, NOW_MS - HOUR_MS)]
    response = ns_post(client, link, bad + good)
    assert response.status_code == 200, response.content
    assert stored(link.patient) == [130.0]
    assert response["X-Rejected"] == str(len(bad))


@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity"])
def test_it_rejects_non_finite_numbers_on_the_nightscout_api(client, link, literal):
    text = (
        f'[{{"type": "sgv", "sgv": {literal}, "date": {NOW_MS - HOUR_MS}}},'
        + json.dumps(sgv(140, NOW_MS - 2 * HOUR_MS))
        + "]"
    )
    response = ns_post(client, link, text)
    assert response.status_code == 200, response.content
    assert stored(link.patient) == [140.0]


def test_it_does_not_serve_a_future_reading_as_the_current_value(client, link):
    ns_post(client, link, [sgv(120, NOW_MS - HOUR_MS)])
    Reading.objects.create(  # stored before the rule existed
        patient=link.patient,
        device=Reading.objects.first().device,
        timestamp=dt.datetime(9999, 1, 1, tzinfo=dt.UTC),
        value_mg_dl=300,
        kind="cgm",
    )
    response = client.get(f"/ns/{link.key}/api/v1/entries/current.json?token={link.api_secret}")
    assert response.status_code == 200
    assert response.json()[0]["sgv"] == 120


ROW = {"timestamp": "2024-05-01T08:00:00+02:00", "value": 120, "unit": "mg/dL", "kind": "cgm"}


def test_it_rejects_error_codes_types_and_implausible_times_in_a_rest_batch(client, patient):
    login(client, patient.user)
    future = (dt.datetime.now(dt.UTC) + dt.timedelta(days=2)).isoformat()
    rows = [
        {**ROW, "value": 10},  # a Dexcom error code
        {**ROW, "value": float("nan")},
        {**ROW, "value": [120]},
        {**ROW, "value": {"mg": 120}},
        {**ROW, "timestamp": 1e20},
        {**ROW, "timestamp": 10**20},
        {**ROW, "timestamp": True},
        {**ROW, "timestamp": "0001-01-01T00:00:00+02:00"},
        {**ROW, "timestamp": "9999-12-31T23:00:00-05:00"},
        {**ROW, "timestamp": "9999-01-01T00:00:00Z"},
        {**ROW, "timestamp": "1969-12-31T00:00:00Z"},
        {**ROW, "timestamp": future},
        {**ROW, "timestamp": "2024-05-01T08:05:00+02:00", "value": 125},  # good
    ]
    response = client.post(
        reverse("api-patients-readings", args=[patient.pk]),
        json.dumps({"readings": rows}, allow_nan=True),
        content_type="application/json",
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["accepted"] == 1
    assert [row["line"] for row in body["rejected"]] == list(range(1, 13))
    assert all(row["reason"] for row in body["rejected"])
    assert "status code 10 (power deviation)" in body["rejected"][0]["reason"]
    assert "future" in body["rejected"][11]["reason"]
    assert stored(patient) == [125.0]


def observation(value, when):
    return {
        "resource": {
            "resourceType": "Observation",
            "status": "final",
            "code": {"coding": [{"system": "http://loinc.org", "code": "99504-3"}]},
            "effectiveDateTime": when,
            "valueQuantity": {"value": value, "unit": "mg/dL", "code": "mg/dL"},
            "device": {"display": "Dexcom G7"},
        },
        "request": {"method": "POST", "url": "Observation"},
    }


def test_it_rejects_error_codes_and_implausible_times_in_a_fhir_bundle(client, patient):
    login(client, patient.user)
    future = (dt.datetime.now(dt.UTC) + dt.timedelta(days=2)).isoformat()
    entries = [
        observation(10, "2024-05-01T08:00:00+02:00"),
        observation(120, "9999-12-31T23:00:00-05:00"),
        observation(120, "0001-01-01T00:00:00+02:00"),
        observation(120, future),
        observation(True, "2024-05-01T08:10:00+02:00"),
        observation("120", "2024-05-01T08:15:00+02:00"),
        observation(120, "2024-05-01T08:05:00+02:00"),
    ]
    response = client.post(
        reverse("api-patients-fhir-submit-cgm-bundle", args=[patient.pk]),
        json.dumps({"resourceType": "Bundle", "type": "transaction", "entry": entries}),
        content_type="application/fhir+json",
    )
    assert response.status_code == 200, response.content
    statuses = [entry["response"]["status"] for entry in response.json()["entry"]]
    assert statuses == ["400 Bad Request"] * 6 + ["201 Created"]
    assert stored(patient) == [120.0]


# --- issue #17 §5: huge, non-finite and badly typed numbers; CGM values below 40 ------------

# JSON number literals no glucose can be: beyond a float (1e400 reads as inf, 10**400 is an
# int that no float holds), NaN/Infinity tokens, negative, zero and absurdly large values.
NOT_GLUCOSE = ["1e400", "-1e400", "1" + "0" * 400, "NaN", "Infinity", "-Infinity", "-5", "0", "1e6"]


@pytest.mark.parametrize("literal", NOT_GLUCOSE)
def test_it_rejects_a_rest_value_that_is_no_glucose_with_a_reason(client, patient, literal):
    login(client, patient.user)
    good = json.dumps({**ROW, "timestamp": "2024-05-01T08:05:00+02:00", "value": 125})
    bad = json.dumps({**ROW, "value": "LITERAL"}).replace('"LITERAL"', literal)
    text = f'{{"readings": [{bad}, {good}]}}'
    response = client.post(
        reverse("api-patients-readings", args=[patient.pk]), text, content_type="application/json"
    )
    assert response.status_code == 200, response.content[:300]
    body = response.json()
    assert body["accepted"] == 1 and [row["line"] for row in body["rejected"]] == [1]
    reason = body["rejected"][0]["reason"]
    assert "number" in reason or "impossible" in reason or "status code 0" in reason
    assert stored(patient) == [125.0]


@pytest.mark.parametrize("literal", NOT_GLUCOSE)
def test_it_answers_a_nightscout_sgv_that_is_no_glucose_with_400_and_the_reason(
    client, link, literal
):
    response = ns_post(
        client, link, f'[{{"type": "sgv", "sgv": {literal}, "date": {NOW_MS - HOUR_MS}}}]'
    )
    assert response.status_code == 400, response.content[:300]
    body = response.json()
    assert body["status"] == 400 and [row["line"] for row in body["rejected"]] == [1]
    assert body["rejected"][0]["reason"]
    assert stored(link.patient) == []


@pytest.mark.parametrize("bad", [False, True, None, {"v": 120}, [120], "abc", "", "0x78", "12O"])
def test_it_answers_a_badly_typed_nightscout_sgv_with_400_and_the_reason(client, link, bad):
    response = ns_post(client, link, [sgv(bad, NOW_MS - HOUR_MS)])
    assert response.status_code == 400, response.content
    body = response.json()
    assert [row["line"] for row in body["rejected"]] == [1]
    assert "sgv" in body["rejected"][0]["reason"]
    assert stored(link.patient) == []


@pytest.mark.parametrize("text", ["120", "120.0", " 120 "])
def test_it_reads_a_numeric_string_sgv_as_nightscout_does(client, link, text):
    # Nightscout stores the posted entry as sent and reads its value with JavaScript's
    # Number() ("120" -> 120), so an uploader sending text works there and must work here.
    response = ns_post(client, link, [sgv(text, NOW_MS - HOUR_MS)])
    assert response.status_code == 200, response.content
    assert stored(link.patient) == [120.0]


def test_it_keeps_the_good_entries_of_a_mixed_nightscout_post_and_names_the_bad(client, link):
    body = [sgv(130, NOW_MS - HOUR_MS), sgv(False, NOW_MS - 2 * HOUR_MS), sgv(25, NOW_MS)]
    response = ns_post(client, link, body)
    assert response.status_code == 200, response.content  # uploaders must not resend forever
    assert [entry["sgv"] for entry in response.json()] == [130]
    assert response["X-Rejected"] == "2"
    reasons = json.loads(response["X-Rejected-Reasons"])
    assert [row["line"] for row in reasons] == [2, 3]
    assert stored(link.patient) == [130.0]


BELOW_CGM = "below any CGM's reporting range"


def test_it_rejects_cgm_values_below_40_on_the_nightscout_api(client, link):
    body = [sgv(v, NOW_MS - HOUR_MS - i * 300_000) for i, v in enumerate((13, 25, 35, 39, 39.9))]
    response = ns_post(client, link, body)
    assert response.status_code == 400, response.content
    reasons = [row["reason"] for row in response.json()["rejected"]]
    assert len(reasons) == 5 and all(BELOW_CGM in reason for reason in reasons), reasons
    assert stored(link.patient) == []


def test_it_reads_dexcoms_39_and_401_as_nightscout_shows_them(client, link):
    # Nightscout displays sgv 39 as "LOW" and 401 as "HIGH" for a Dexcom (device "dexcom" or
    # none): the receiver's out-of-range markers, stored flagged at the sensor's limits.
    low = {"type": "sgv", "sgv": 39, "date": NOW_MS - HOUR_MS}
    high = {"type": "sgv", "sgv": 401, "date": NOW_MS - 2 * HOUR_MS, "device": "dexcom"}
    response = ns_post(client, link, [low, high])
    assert response.status_code == 200, response.content
    rows = Reading.objects.filter(patient=link.patient).values_list("value_mg_dl", "flag")
    assert sorted(rows) == [(40.0, "low"), (400.0, "high")]


def test_it_keeps_a_meter_value_below_40_on_the_nightscout_api(client, link):
    entry = {"type": "mbg", "mbg": 35, "date": NOW_MS - HOUR_MS}
    assert ns_post(client, link, [entry]).status_code == 200
    assert stored(link.patient) == [35.0]


def test_it_rejects_cgm_values_below_40_in_a_rest_batch_and_keeps_meter_values(client, patient):
    login(client, patient.user)
    rows = [
        {**ROW, "value": 20},
        {**ROW, "timestamp": "2024-05-01T08:05:00+02:00", "value": 39},
        {**ROW, "timestamp": "2024-05-01T08:10:00+02:00", "value": 2.1, "unit": "mmol/L"},
        {**ROW, "timestamp": "2024-05-01T08:15:00+02:00", "value": 35, "kind": "smbg"},
        {**ROW, "timestamp": "2024-05-01T08:20:00+02:00", "value": 40},
    ]
    response = client.post(
        reverse("api-patients-readings", args=[patient.pk]),
        {"readings": rows},
        content_type="application/json",
    )
    body = response.json()
    assert [row["line"] for row in body["rejected"]] == [1, 2, 3]
    assert all(BELOW_CGM in row["reason"] for row in body["rejected"])
    stored_rows = Reading.objects.filter(patient=patient).values_list("kind", "value_mg_dl", "flag")
    assert sorted(stored_rows) == [("cgm", 40.0, ""), ("smbg", 35.0, "")]


def test_it_rejects_cgm_values_below_40_in_a_fhir_bundle(client, patient):
    login(client, patient.user)
    entries = [
        observation(30, "2024-05-01T08:00:00+02:00"),
        observation(120, "2024-05-01T08:05:00+02:00"),
    ]
    response = client.post(
        reverse("api-patients-fhir-submit-cgm-bundle", args=[patient.pk]),
        json.dumps({"resourceType": "Bundle", "type": "transaction", "entry": entries}),
        content_type="application/fhir+json",
    )
    assert response.status_code == 200, response.content
    answers = [entry["response"] for entry in response.json()["entry"]]
    assert [a["status"] for a in answers] == ["400 Bad Request", "201 Created"]
    assert BELOW_CGM in json.dumps(answers[0])
    assert stored(patient) == [120.0]


@pytest.mark.parametrize("literal", ["1e400", "1" + "0" * 400, "NaN", "-Infinity"])
def test_it_refuses_a_nightscout_treatment_amount_that_is_no_number(client, link, literal):
    when = f'"created_at": "{dt.datetime.now(dt.UTC) - dt.timedelta(hours=1):%Y-%m-%dT%H:%M:%SZ}"'
    text = (
        f'[{{"eventType": "Bolus", "insulin": {literal}, {when}}},'
        f' {{"eventType": "BG Check", "glucose": {literal}, {when}}},'
        f' {{"eventType": "Exercise", "duration": {literal}, {when}}}]'
    )
    response = client.post(
        f"/ns/{link.key}/api/v1/treatments",
        text,
        content_type="application/json",
        HTTP_API_SECRET=link.api_secret,
    )
    assert response.status_code < 500, response.content[:300]
    assert not Treatment.objects.exists() and stored(link.patient) == []
