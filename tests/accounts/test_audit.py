"""The audit trail: append-only, who they were kept, and what it covers (DESIGN §3 Audit)."""

import datetime as dt

import pytest
from django.db import connection, transaction
from django.db.utils import DatabaseError
from django.urls import reverse

from accounts.models import AuditEvent
from readings.models import Reading
from tests.conftest import PASSWORD
from tests.reports.conftest import load


def _event(**extra) -> AuditEvent:
    fields = {"username": "x", "role": "admin", "action": "view", "what": "thing"}
    return AuditEvent.objects.create(**{**fields, **extra})


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the trigger is PostgreSQL's")
def test_it_has_postgresql_refuse_update_and_delete(db):
    event = _event()
    for sql in (
        "UPDATE accounts_auditevent SET what = 'forged' WHERE id = %s",
        "DELETE FROM accounts_auditevent WHERE id = %s",
    ):
        with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute(sql, [event.pk])
    event.refresh_from_db()
    assert event.what == "thing"


def test_it_refuses_changes_through_the_orm(db):
    event = _event()
    event.what = "forged"
    with pytest.raises(PermissionError):
        event.save()
    with pytest.raises(PermissionError):
        event.delete()
    with pytest.raises(PermissionError):
        AuditEvent.objects.filter(pk=event.pk).update(what="forged")
    with pytest.raises(PermissionError):
        AuditEvent.objects.all().delete()
    assert AuditEvent.objects.get().what == "thing"


def test_it_keeps_who_a_deleted_user_was(client, alice, patient):
    client.force_login(alice)
    client.get(reverse("patients-detail", args=[patient.pk]))
    patient_id = patient.pk
    alice.delete()
    patient.delete()
    event = AuditEvent.objects.get(action="view")
    assert (event.username, event.role, event.patient_id) == (
        "alice",
        "endocrinologist",
        patient_id,
    )
    assert event.user_id is not None  # the reference stays; the name is what we show


def test_it_gives_the_admin_no_way_to_add_change_or_delete(client, admin_user):
    event = _event()
    client.force_login(admin_user)
    assert client.get("/admin/accounts/auditevent/").status_code == 200
    assert client.get("/admin/accounts/auditevent/add/").status_code == 403
    forged = {"username": "bob", "role": "admin", "action": "view", "what": "forged"}
    assert client.post("/admin/accounts/auditevent/add/", forged).status_code == 403
    change = f"/admin/accounts/auditevent/{event.pk}/change/"
    assert client.post(change, {**forged}).status_code == 403
    delete = f"/admin/accounts/auditevent/{event.pk}/delete/"
    assert client.post(delete, {"post": "yes"}).status_code == 403
    assert AuditEvent.objects.filter(what="forged").count() == 0
    assert AuditEvent.objects.filter(pk=event.pk).exists()


def test_it_records_sign_in_success_and_failure_with_the_address(client, alice):
    login = reverse("login")
    client.post(login, {"username": "alice", "password": "wrong"}, REMOTE_ADDR="203.0.113.9")
    client.post(login, {"username": "alice", "password": PASSWORD}, REMOTE_ADDR="203.0.113.9")
    failed, ok = AuditEvent.objects.filter(action="sign-in").order_by("pk")
    assert (failed.username, failed.outcome, failed.ip) == ("alice", "failed", "203.0.113.9")
    assert (ok.username, ok.role, ok.outcome, ok.user) == ("alice", "endocrinologist", "ok", alice)
    assert ok.at.tzinfo is not None and ok.at.utcoffset() == dt.timedelta(0)


def test_it_records_denied_requests(client, bob, patient, db):
    assert client.get(reverse("api-patients-list")).status_code in (401, 403)
    anonymous = AuditEvent.objects.get(outcome="denied")
    assert (anonymous.role, anonymous.what) == ("anonymous", "GET /api/v1/patients/")
    client.force_login(bob)
    assert client.get(reverse("patients-detail", args=[patient.pk])).status_code == 404
    refused = AuditEvent.objects.get(outcome="denied", username="bob")
    assert (refused.patient_id, refused.action) == (patient.pk, "denied")
    assert client.get(reverse("api-audit")).status_code == 403
    assert AuditEvent.objects.filter(username="bob", what="GET /api/v1/audit/").exists()


def test_it_records_list_reads_detail_reads_and_uploads(client, alice, staff, patient):
    client.force_login(alice)
    client.get(reverse("patients-list"))
    client.get(reverse("api-triage"))
    client.get(reverse("api-patients-detail", args=[patient.pk]))
    client.force_login(staff)
    client.get(reverse("api-patients-uploads", args=[patient.pk]))
    seen = set(AuditEvent.objects.filter(patient=patient).values_list("username", "what"))
    assert {
        ("alice", "triage list"),
        ("alice", "triage list (API)"),
        ("alice", "patient record (API)"),
        ("sam", "uploads list (API)"),
    } <= seen


def test_it_keeps_readings_read_only_in_the_admin_and_audits_looks(client, admin_user, patient):
    reading = _one_reading(patient)
    client.force_login(admin_user)
    assert client.get("/admin/readings/reading/").status_code == 200
    page = f"/admin/readings/reading/{reading.pk}/change/"
    assert client.get(page).status_code == 200
    assert client.post(page, {"value_mg_dl": "999"}).status_code == 403
    delete = f"/admin/readings/reading/{reading.pk}/delete/"
    assert client.post(delete, {"post": "yes"}).status_code == 403
    reading.refresh_from_db()
    assert reading.value_mg_dl != 999
    assert AuditEvent.objects.filter(patient=patient, username="ada", action="view").exists()


def _one_reading(patient) -> Reading:
    load(patient, [1_700_000_000], [120])
    return Reading.objects.get(patient=patient)
