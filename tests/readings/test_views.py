import datetime as dt
import re

from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils.formats import date_format

from readings import views
from readings.models import DeviceToken, NightscoutLink, Reading, Upload
from readings.services import nightscout_link_ensure, upload_create, upload_process
from tests.readings.helpers import DEXCOM, login, plain_csv


def send(client, patient, data, name="export.csv", **extra):
    return client.post(
        reverse("readings-upload", args=[patient.pk]),
        {"file": SimpleUploadedFile(name, data), "format": "auto", "timezone": "", **extra},
        **extra.pop("headers", {}),
    )


def test_it_uploads_without_javascript_and_redirects_to_the_result(client, patient):
    login(client, patient.user)
    assert client.get(reverse("readings-upload", args=[patient.pk])).status_code == 200
    response = send(client, patient, DEXCOM.read_bytes())
    upload = Upload.objects.get()
    assert response.status_code == 302 and response.url == reverse(
        "readings-upload-detail", args=[upload.pk]
    )
    page = client.get(response.url)
    assert page.status_code == 200
    assert b"2148" in page.content and b"Accepted readings" in page.content


def test_it_answers_htmx_with_the_status_fragment(client, patient):
    login(client, patient.user)
    response = client.post(
        reverse("readings-upload", args=[patient.pk]),
        {"file": SimpleUploadedFile("a.csv", DEXCOM.read_bytes()), "format": "auto"},
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 200
    assert b"<html" not in response.content and b"2148" in response.content


def test_it_polls_a_queued_upload_until_done(client, patient, monkeypatch):
    login(client, patient.user)
    monkeypatch.setattr(views, "upload_enqueue", lambda upload: None)  # no worker yet
    monkeypatch.setattr(views, "SYNC_UPLOAD_MAX_BYTES", 100)
    send(client, patient, plain_csv(dt.datetime(2024, 5, 1, tzinfo=dt.UTC), 50))
    upload = Upload.objects.get()
    url = reverse("readings-upload-detail", args=[upload.pk])
    fragment = client.get(url, HTTP_HX_REQUEST="true").content.decode()
    assert 'hx-trigger="every 1s"' in fragment and f'href="{url}"' in fragment
    upload_process(upload_id=upload.pk)
    fragment = client.get(url, HTTP_HX_REQUEST="true").content.decode()
    assert "every 1s" not in fragment and "50" in fragment


def test_it_lists_rejected_rows_with_line_and_reason_paginated(client, alice, patient):
    bad = set(range(0, 120, 2))
    upload = upload_create(
        patient=patient,
        by=alice,
        file=plain_csv(dt.datetime(2024, 5, 1, tzinfo=dt.UTC), 120, bad=bad),
        filename="bad.csv",
    )
    upload_process(upload_id=upload.pk)
    login(client, alice)
    url = reverse("readings-upload-detail", args=[upload.pk])
    first = client.get(url).content.decode()
    assert "Page 1 of 2" in first and "impossible" in first
    assert ">2<" in first  # line 2 (first data row) is listed
    assert ">120<" in client.get(url, {"rejected": 2}).content.decode()


def test_it_lets_staff_upload_but_shows_them_counts_only(client, staff, patient):
    login(client, staff)
    response = send(client, patient, DEXCOM.read_bytes())
    assert response.status_code == 302
    page = client.get(response.url).content.decode()
    assert "2148" in page and "Accepted readings" not in page
    assert Reading.objects.filter(patient=patient).count() == 2148


def test_it_shows_the_chart_and_nightscout_settings_on_the_workspace(client, alice, patient):
    upload = upload_create(patient=patient, by=None, file=DEXCOM.read_bytes(), filename="a.csv")
    upload_process(upload_id=upload.pk)
    login(client, alice)
    page = client.get(reverse("patients-files", args=[patient.pk])).content.decode()
    assert 'id="glucose-chart" data-plotly-source="glucose-chart-data"' in page
    login(client, patient.user)  # the patient's settings are on their own view
    detail = reverse("my-glucose")
    page = client.get(detail).content.decode()
    assert reverse("readings-upload", args=[patient.pk]) in page
    shown = client.post(reverse("readings-nightscout", args=[patient.pk])).content.decode()
    link = nightscout_link_ensure(patient=patient)
    page = client.get(detail, {"unit": "mmol/L"}).content.decode()
    assert f"/ns/{link.key}/" in page and f"/ns/{link.key}/" in shown
    secret = re.search(r"API secret</dt><dd><code>([^<]+)</code>", shown).group(1)
    assert secret not in page  # shown once, when issued
    assert link.secret_matches(secret)


def test_it_shows_the_nightscout_secret_to_the_patient_only(client, alice, admin_user, patient):
    login(client, alice)
    assert client.post(reverse("readings-nightscout", args=[patient.pk])).status_code == 403
    login(client, patient.user)
    rotated = client.post(reverse("readings-nightscout", args=[patient.pk]), {"action": "rotate"})
    secret = re.search(r"API secret</dt><dd><code>([^<]+)</code>", rotated.content.decode())[1]
    for viewer in (alice, admin_user):
        login(client, viewer)
        page = client.get(reverse("patients-files", args=[patient.pk])).content.decode()
        assert "/ns/" in page and secret not in page
        assert reverse("readings-nightscout", args=[patient.pk]) not in page
    link = NightscoutLink.objects.get(patient=patient)
    admin_page = client.get(reverse("admin:readings_nightscoutlink_change", args=[link.pk]))
    assert admin_page.status_code == 200 and secret not in admin_page.content.decode()


def test_it_lets_the_patient_issue_and_revoke_tokens_knowingly(client, alice, patient):
    login(client, patient.user)
    new = reverse("readings-token-new", args=[patient.pk])
    refused = client.post(new, {"name": "Follower", "scope": "read"})
    assert refused.status_code == 400 and not DeviceToken.objects.exists()
    issued = client.post(new, {"name": "Follower", "scope": "read", "grant_read": "on"})
    key = re.search(r"Token</dt><dd><code>(dt_[^<]+)</code>", issued.content.decode())[1]
    token = DeviceToken.objects.get(key_hash=DeviceToken.hash_key(key))
    assert token.scope == "read" and key not in str(DeviceToken.objects.values().get())
    client.post(new, {"name": "xDrip", "scope": "upload"})
    assert DeviceToken.objects.get(name="xDrip").scope == "upload"
    login(client, alice)  # clinicians see and revoke tokens, but grant nothing
    page = client.get(reverse("patients-files", args=[patient.pk])).content.decode()
    assert "Follower" in page and key not in page
    assert client.post(new, {"name": "x", "scope": "upload"}).status_code == 403
    client.post(reverse("readings-token-revoke", args=[patient.pk, token.pk]))
    token.refresh_from_db()
    assert token.revoked_at is not None


def test_it_shows_an_empty_state_without_readings(client, alice, patient):
    login(client, alice)
    page = client.get(reverse("patients-files", args=[patient.pk])).content.decode()
    assert "No glucose readings yet" in page


def test_it_refuses_outsiders(client, patient, bob, other_staff, other_patient, staff):
    upload = upload_create(patient=patient, by=None, file=DEXCOM.read_bytes(), filename="a.csv")
    for outsider in (bob, other_staff, other_patient.user):
        login(client, outsider)
        assert client.get(reverse("readings-upload", args=[patient.pk])).status_code == 404
        assert send(client, patient, DEXCOM.read_bytes()).status_code == 404
        assert client.get(reverse("readings-upload-detail", args=[upload.pk])).status_code == 404
        assert client.get(reverse("readings-uploads", args=[patient.pk])).status_code == 404
    login(client, staff)  # staff may not see or change the Nightscout secret
    assert client.post(reverse("readings-nightscout", args=[patient.pk])).status_code == 404
    assert client.post(reverse("readings-token-new", args=[patient.pk])).status_code == 404
    assert Upload.objects.count() == 1


def test_it_refuses_a_file_over_the_upload_limit_with_a_clear_error(client, patient, settings):
    settings.UPLOAD_MAX_BYTES = 1000
    login(client, patient.user)
    response = send(client, patient, b"x" * 70_000)  # declared length over the limit
    assert response.status_code == 413 and b"larger than" in response.content
    response = send(client, patient, b"Index,Timestamp\n" + b"x" * 1200)  # checked by the form
    assert response.status_code == 200 and b"larger than" in response.content
    assert not Upload.objects.exists()


def test_it_offers_devices_with_export_steps_and_the_patients_zone(client, patient):
    patient.timezone = "Asia/Shanghai"
    patient.save()
    login(client, patient.user)
    page = client.get(reverse("readings-upload", args=[patient.pk])).content.decode()
    for device in ("Dexcom Clarity", "LibreView", "CareLink", "xDrip+"):
        assert device in page
    assert page.count("How to export") == 5
    assert '<option value="Asia/Shanghai" selected>' in page
    assert "FHIR" in page.split("More options")[1]  # the jargon only under "More options"
    assert "FHIR" not in page.split("More options")[0]


def test_it_reads_a_libreview_choice_as_that_format(client, patient):
    login(client, patient.user)
    libre = (DEXCOM.parent.parent / "libreview" / "glyco__tiny_sample_mmol_EU.csv").read_bytes()
    send(client, patient, libre, device="libre")
    upload = Upload.objects.get()
    assert upload.requested_format == "libreview" and upload.accepted == 6


def test_it_says_in_plain_words_what_was_added(client, patient):
    login(client, patient.user)
    send(client, patient, DEXCOM.read_bytes())
    send(client, patient, DEXCOM.read_bytes())
    first, second = Upload.objects.order_by("pk")
    words = client.get(reverse("readings-upload-detail", args=[first.pk])).content.decode()
    first_day = date_format(dt.date(2016, 10, 24), "DATE_FORMAT")  # the one named format
    last_day = date_format(dt.date(2016, 11, 1), "DATE_FORMAT")
    assert f"2148 new readings were added (from {first_day} to {last_day})." in words
    again = client.get(reverse("readings-upload-detail", args=[second.pk])).content.decode()
    assert "No new readings were added." in again
    assert "2148 readings were already here and were not added again." in again


def test_it_explains_the_upload_in_chinese(client, patient):
    login(client, patient.user)
    client.cookies["django_language"] = "zh-hans"
    page = client.get(reverse("readings-upload", args=[patient.pk])).content.decode()
    assert "文件来自哪台设备或哪个应用？" in page and "如何导出" in page
    send(client, patient, DEXCOM.read_bytes())
    upload = Upload.objects.get()
    words = client.get(reverse("readings-upload-detail", args=[upload.pk])).content.decode()
    assert "新添加了 2148 条读数" in words


def test_it_says_already_stored_for_rows_that_overlap_stored_readings(client, patient):
    """A re-export whose values differ from the readings stored at the same instants: those
    rows are "already stored" (the first value kept), in the reader's unit, not unreadable."""
    patient.user.unit = "mmol/L"
    patient.user.save()
    login(client, patient.user)
    start = dt.datetime(2024, 5, 1, 8, 0, tzinfo=dt.UTC)
    send(client, patient, plain_csv(start, 4, value=120), name="first.csv")
    send(client, patient, plain_csv(start, 6, value=140, bad={5}), name="again.csv")
    again = Upload.objects.get(filename="again.csv")
    assert (again.accepted, again.duplicates) == (1, 0)  # 4 overlap, 1 new, 1 unreadable
    page = client.get(reverse("readings-upload-detail", args=[again.pk])).content.decode()
    words = page.split('class="result-words">')[1].split("</p>")[0]
    assert "4 readings were already stored with another value; the stored ones were kept." in (
        " ".join(words.split())
    )
    assert "1 row could not be read." in words  # the one row of junk, and only it
    stored = page.split('id="conflicts-title"')[1].split("</section>")[0]
    assert "6.7 mmol/L" in stored and "7.8 mmol/L" in stored  # 120 kept, 140 not
    assert "08:05" in stored  # the instant in the patient's time (UTC here)
    rejected = page.split('id="rejected-title"')[1].split("</section>")[0]
    assert "already stored" not in rejected and "(1)" in rejected
    assert "mg/dL" not in words + stored  # (the unreadable row's reason is the parser's)
    mine = client.get(reverse("my-glucose")).content.decode()
    assert "4 already stored with another value" in mine


def test_it_lists_the_upload_just_made(client, patient, monkeypatch):
    login(client, patient.user)
    page = reverse("readings-upload", args=[patient.pk])
    htmx = {"HTTP_HX_REQUEST": "true", "HTTP_HX_CURRENT_URL": f"http://testserver{page}"}
    answer = client.post(
        page,
        {"file": SimpleUploadedFile("today.csv", DEXCOM.read_bytes()), "format": "auto"},
        **htmx,
    ).content.decode()
    recent = answer.split('id="recent-uploads"')[1]
    assert '<div id="recent-uploads" hx-swap-oob="true">' in answer
    assert "today.csv" in recent and ">done<" in recent
    # A queued upload's list row follows its status when the poll sees it finish.
    monkeypatch.setattr(views, "upload_enqueue", lambda upload: None)
    monkeypatch.setattr(views, "SYNC_UPLOAD_MAX_BYTES", 100)
    client.post(
        page,
        {
            "file": SimpleUploadedFile(
                "big.csv", plain_csv(dt.datetime(2024, 5, 1, tzinfo=dt.UTC), 9)
            )
        },
        **htmx,
    )
    upload = Upload.objects.get(filename="big.csv")
    upload_process(upload_id=upload.pk)
    url = reverse("readings-upload-detail", args=[upload.pk])
    polled = client.get(url, **htmx).content.decode()
    assert "big.csv" in polled.split('id="recent-uploads"')[1]
    elsewhere = client.get(url, HTTP_HX_REQUEST="true").content.decode()
    assert 'id="recent-uploads"' not in elsewhere  # only where the list is


NESTED = b"[" * 100_000  # README: JSON nested 100,000 deep answers 4xx, files too


def test_it_fails_a_deeply_nested_upload_with_its_reason(
    client, patient, monkeypatch, django_capture_on_commit_callbacks
):
    """Imported at once, and (large enough) through the Celery task: the upload fails with
    a reason, the page answers as for any failed file (issue #18: RecursionError, a 500)."""
    login(client, patient.user)
    for sync_limit in (views.SYNC_UPLOAD_MAX_BYTES, 100):
        monkeypatch.setattr(views, "SYNC_UPLOAD_MAX_BYTES", sync_limit)
        for fmt in ("nightscout", "tidepool"):
            with django_capture_on_commit_callbacks(execute=True):
                response = send(client, patient, NESTED, name="deep.json", format=fmt)
            assert response.status_code == 302, (sync_limit, fmt, response.status_code)
            upload = Upload.objects.latest("pk")
            assert upload.status == Upload.Status.FAILED
            assert "nested too deeply" in upload.error
            page = client.get(response.url)
            assert page.status_code == 200 and b"nested too deeply" in page.content
