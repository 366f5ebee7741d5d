import datetime as dt
import hashlib
import json
from io import StringIO

import pytest
import time_machine
from django.core.management import call_command

from readings.models import DeviceToken, NightscoutDeviceStatus, Reading, Treatment
from readings.services import nightscout_link_ensure
from tests.readings.helpers import DEVICES

# An xDrip+-style upload (DESIGN §7): an array of sgv entries, epoch ms dates, mg/dL.
XDRIP = [
    {
        "type": "sgv",
        "sgv": 100 + 5 * i,
        "date": 1714550400000 + i * 300_000,
        "dateString": "2024-05-01T08:00:00.000Z",
        "direction": "Flat",
        "device": "xDrip-DexcomG6",
        "noise": 1,
        "filtered": 0,
        "unfiltered": 0,
        "rssi": 100,
        "delta": 5,
    }
    for i in range(6)
]


@pytest.fixture
def link(patient):
    return nightscout_link_ensure(patient=patient)


def sha1(text: str) -> str:
    return hashlib.sha1(text.encode()).hexdigest()


def url(link, path: str) -> str:
    return f"/ns/{link.key}/{path}"


def post(client, link, path, body, **headers):
    return client.post(
        url(link, path), json.dumps(body), content_type="application/json", **headers
    )


def test_it_takes_an_xdrip_array_with_the_sha1_secret(client, link):
    secret = {"HTTP_API_SECRET": sha1(link.api_secret)}
    response = post(client, link, "api/v1/entries", XDRIP, **secret)
    assert response.status_code == 200, response.content
    assert Reading.objects.filter(patient=link.patient, kind="cgm").count() == 6
    again = post(client, link, "api/v1/entries.json", XDRIP, **secret)
    assert again["X-Duplicates"] == "6"
    assert Reading.objects.count() == 6


def test_it_takes_a_single_mbg_object_and_ignores_cal(client, link):
    secret = {"HTTP_API_SECRET": link.api_secret}  # the plain secret works too
    post(
        client, link, "api/v1/entries", {"type": "mbg", "mbg": 140, "date": 1714550400000}, **secret
    )
    post(
        client, link, "api/v1/entries", {"type": "cal", "slope": 1, "date": 1714550400000}, **secret
    )
    assert list(Reading.objects.values_list("kind", "value_mg_dl")) == [("smbg", 140.0)]


def test_it_answers_entries_json_newest_first_with_count_and_find(client, link):
    secret = {"HTTP_API_SECRET": sha1(link.api_secret)}
    post(client, link, "api/v1/entries", XDRIP, **secret)
    rows = client.get(url(link, "api/v1/entries.json"), {"count": 3}, **secret).json()
    assert [r["sgv"] for r in rows] == [125, 120, 115]
    first = rows[0]
    assert first["type"] == "sgv" and first["date"] == 1714550400000 + 5 * 300_000
    assert first["dateString"].endswith("+00:00") and first["direction"] == "Flat"
    assert first["device"] == "xDrip-DexcomG6" and len(first["_id"]) == 24
    since = client.get(
        url(link, "api/v1/entries.json"),
        {"find[date][$gte]": 1714550400000 + 4 * 300_000, "count": 100},
        **secret,
    ).json()
    assert [r["sgv"] for r in since] == [125, 120]
    before = client.get(
        url(link, "api/v1/entries/sgv.json"),
        {"find[date][$lt]": 1714550400000 + 300_000},
        **secret,
    ).json()
    assert [r["sgv"] for r in before] == [100]
    current = client.get(url(link, "api/v1/entries/current.json"), **secret).json()
    assert [r["sgv"] for r in current] == [125]
    assert len(client.get(url(link, "api/v1/entries.json"), **secret).json()) == 6  # default 10


# The fixture's readings run from 2026-03-31 to 2026-04-05 20:30 UTC: before that they are
# "in the future" and refused, as they should be, so the test sets its clock to the day after.
@time_machine.travel(dt.datetime(2026, 4, 6, 12, tzinfo=dt.UTC), tick=True)
def test_it_serves_the_nightscout_fixture_back(client, link):
    secret = {"HTTP_API_SECRET": sha1(link.api_secret)}
    body = (DEVICES / "nightscout" / "cgm_format__nightscout_entries.json").read_bytes()
    response = client.post(
        url(link, "api/v1/entries"), body, content_type="application/json", **secret
    )
    # Four of its sgv (32-38 mg/dL) are below any CGM's range (issue #17): refused, named.
    assert (response["X-Accepted"], response["X-Rejected"]) == ("996", "4")
    rows = client.get(url(link, "api/v1/entries.json"), {"count": 1000}, **secret).json()
    assert len(rows) == 996 and rows[0]["date"] > rows[-1]["date"]


def test_it_reports_status(client, link):
    response = client.get(url(link, "api/v1/status.json"), HTTP_API_SECRET=sha1(link.api_secret))
    body = response.json()
    assert body["status"] == "ok" and body["name"] == "Diabetes Center"
    assert body["apiEnabled"] is True and body["settings"]["units"] in ("mg/dl", "mmol")
    assert "serverTime" in body and body["version"]


def test_it_refuses_requests_without_the_secret(client, link, other_patient):
    other = nightscout_link_ensure(patient=other_patient)
    for path in ("api/v1/entries.json", "api/v1/status.json", "api/v1/treatments"):
        response = client.get(url(link, path))
        assert response.status_code == 401 and response.json()["message"] == "Unauthorized"
    wrong = {"HTTP_API_SECRET": sha1(other.api_secret)}  # another patient's secret
    assert client.get(url(link, "api/v1/entries.json"), **wrong).status_code == 401
    assert post(client, link, "api/v1/entries", XDRIP, **wrong).status_code == 401
    assert not Reading.objects.exists()


def test_it_accepts_the_secret_or_a_device_token_as_token(client, link, other_patient):
    assert (
        client.get(url(link, "api/v1/status.json"), {"token": link.api_secret}).status_code == 200
    )
    _, key = DeviceToken.issue(patient=link.patient, name="xDrip")
    assert client.get(url(link, "api/v1/status.json"), {"token": key}).status_code == 200
    _, foreign = DeviceToken.issue(patient=other_patient, name="theirs")
    assert client.get(url(link, "api/v1/status.json"), {"token": foreign}).status_code == 401


def test_it_maps_treatments(client, link):
    secret = {"HTTP_API_SECRET": sha1(link.api_secret)}
    body = [
        {
            "eventType": "Meal Bolus",
            "insulin": 4.5,
            "carbs": 45,
            "created_at": "2024-05-01T08:00:00.000Z",
            "enteredBy": "AndroidAPS",
        },
        {"eventType": "Temp Basal", "rate": 0.5, "created_at": "2024-05-01T09:00:00Z"},
        {
            "eventType": "BG Check",
            "glucose": 7.2,
            "units": "mmol",
            "created_at": "2024-05-01T10:00:00Z",
        },
    ]
    assert post(client, link, "api/v1/treatments", body, **secret).status_code == 200
    kinds = sorted(Treatment.objects.values_list("kind", "amount"))
    assert kinds == [("carbs", 45.0), ("insulin_rapid", 4.5)]
    assert Reading.objects.get().value_mg_dl == 130  # 7.2 mmol/L, rounded as the parsers do
    rows = client.get(url(link, "api/v1/treatments.json"), **secret).json()
    assert {r.get("insulin") or r.get("carbs") for r in rows} == {4.5, 45.0}


def test_it_stores_devicestatus(client, link):
    secret = {"HTTP_API_SECRET": sha1(link.api_secret)}
    status = {
        "device": "openaps://phone",
        "created_at": "2024-05-01T08:00:00Z",
        "uploaderBattery": 80,
    }
    assert post(client, link, "api/v1/devicestatus", status, **secret).status_code == 200
    assert NightscoutDeviceStatus.objects.get().data["uploaderBattery"] == 80
    rows = client.get(url(link, "api/v1/devicestatus.json"), **secret).json()
    assert rows[0]["uploaderBattery"] == 80


def test_it_answers_bad_json_with_400(client, link):
    response = client.post(
        url(link, "api/v1/entries"),
        "{nope",
        content_type="application/json",
        HTTP_API_SECRET=sha1(link.api_secret),
    )
    assert response.status_code == 400 and response.json()["status"] == 400


def test_it_prints_and_rotates_the_link(patient, settings):
    settings.SITE_URL = "https://dc.example.org"

    def run(*args):
        out = StringIO()
        call_command("nightscout_link", "--patient", patient.mrn, *args, stdout=out)
        return json.loads(out.getvalue())

    first = run()
    assert first["base_url"].startswith("https://dc.example.org/ns/")
    assert len(first["api_secret"]) >= 20
    # Stored hashed: shown when issued, never again (the base URL stays).
    assert run() == {"base_url": first["base_url"], "api_secret": None}
    rotated = run("--rotate")
    assert rotated["base_url"] == first["base_url"]
    assert rotated["api_secret"] not in (None, first["api_secret"])
    from readings.models import NightscoutLink

    stored = NightscoutLink.objects.values().get(patient=patient)
    assert rotated["api_secret"] not in str(stored) and sha1(rotated["api_secret"]) not in str(
        stored
    )


def test_it_stops_accepting_the_old_secret_after_rotation(client, link):
    old = sha1(link.api_secret)
    call_command("nightscout_link", "--patient", link.patient.mrn, "--rotate", stdout=StringIO())
    assert client.get(url(link, "api/v1/status.json"), HTTP_API_SECRET=old).status_code == 401


READS = (
    "api/v1/entries.json",
    "api/v1/entries/sgv.json",
    "api/v1/entries/current.json",
    "api/v1/treatments.json",
    "api/v1/devicestatus.json",
)


def test_it_keeps_an_upload_token_from_reading(client, link):
    post(client, link, "api/v1/entries", XDRIP, HTTP_API_SECRET=sha1(link.api_secret))
    _, key = DeviceToken.issue(patient=link.patient, name="xdrip")  # scope "upload" by default
    for path in READS:
        response = client.get(url(link, path), {"token": key})
        assert response.status_code == 401, path
        assert b"sgv" not in response.content
    assert post(client, link, f"api/v1/entries?token={key}", XDRIP).status_code == 200
    auth = client.get(url(link, "api/v1/verifyauth"), {"token": key}).json()["message"]
    assert auth["canRead"] is False and auth["canWrite"] is True


def test_it_lets_a_read_token_read_and_not_write(client, link):
    post(client, link, "api/v1/entries", XDRIP, HTTP_API_SECRET=sha1(link.api_secret))
    _, key = DeviceToken.issue(patient=link.patient, name="follower", scope="read")
    for path in READS:
        assert client.get(url(link, path), {"token": key}).status_code == 200, path
    assert client.get(url(link, "api/v1/entries.json"), {"token": key}).json()[0]["sgv"] == 125
    assert post(client, link, f"api/v1/entries?token={key}", XDRIP).status_code == 401
    auth = client.get(url(link, "api/v1/verifyauth"), {"token": key}).json()["message"]
    assert auth["canRead"] is True and auth["canWrite"] is False


def test_it_audits_nightscout_reads(client, link):
    from accounts.models import AuditEvent

    _, key = DeviceToken.issue(patient=link.patient, name="follower", scope="read")
    client.get(url(link, "api/v1/entries.json"), {"token": key})
    client.get(url(link, "api/v1/treatments.json"), HTTP_API_SECRET=sha1(link.api_secret))
    whats = list(AuditEvent.objects.filter(patient=link.patient).values_list("what", flat=True))
    assert any("entries" in w and "follower" in w for w in whats)
    assert any("treatments" in w and "API secret" in w for w in whats)
    roles = set(AuditEvent.objects.filter(patient=link.patient).values_list("role", flat=True))
    assert roles == {"device"}


def test_it_answers_bad_credentials_and_queries_with_4xx(link):
    from django.test import Client

    client = Client(raise_request_exception=False)
    status = url(link, "api/v1/status.json")
    assert client.get(status, HTTP_API_SECRET="sécret").status_code == 401
    assert client.get(status, {"token": "тoken"}).status_code == 401
    secret = {"HTTP_API_SECRET": sha1(link.api_secret)}
    huge = {"find[date][$gte]": "9" * 30}
    assert client.get(url(link, "api/v1/entries.json"), huge, **secret).status_code == 400
    huge = {"find[date][$gte]": "9" * 16}
    assert client.get(url(link, "api/v1/entries.json"), huge, **secret).status_code == 400
    nested = "[" * 100_000 + "]" * 100_000
    for path in ("api/v1/entries", "api/v1/treatments", "api/v1/devicestatus"):
        response = client.post(url(link, path), nested, content_type="application/json", **secret)
        assert response.status_code == 400, path


def test_it_refuses_bodies_over_the_cap(client, link, settings):
    from readings import nightscout

    body = json.dumps([{"device": "x" * 1000}] * (nightscout.MAX_BODY_BYTES // 1000 + 10))
    response = client.post(
        url(link, "api/v1/devicestatus"),
        body,
        content_type="application/json",
        HTTP_API_SECRET=sha1(link.api_secret),
    )
    assert response.status_code == 413
    assert not NightscoutDeviceStatus.objects.exists()


@pytest.mark.parametrize("bad", ["\x00", "\ud800", "G6\x00\ud800"])
@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("api/v1/entries", {"type": "sgv", "sgv": 120, "date": 1714550400000, "device": "{}"}),
        (
            "api/v1/treatments",
            {"eventType": "Note", "created_at": "2024-05-01T08:00:00Z", "notes": "{}"},
        ),
        ("api/v1/devicestatus", {"device": "{}", "created_at": "2024-05-01T08:00:00Z"}),
    ],
)
def test_it_refuses_text_no_column_can_hold(client, link, path, body, bad):
    """A NUL (PostgreSQL text refuses it) or a lone surrogate (UTF-8 cannot encode it) in a
    posted string answers 400 naming where, not 500 when it reaches the database."""
    body = {k: bad if v == "{}" else v for k, v in body.items()}
    secret = {"HTTP_API_SECRET": sha1(link.api_secret)}
    response = post(client, link, path, [body], **secret)
    assert response.status_code == 400, response.content[:200]
    assert "0." in response.content.decode()  # where: the first element's field
    assert not Reading.objects.exists() and not Treatment.objects.exists()
    assert not NightscoutDeviceStatus.objects.exists()
