import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.models import AuditEvent
from tests.conftest import PASSWORD


def login(client, user):
    assert client.login(username=user.username, password=PASSWORD)


def test_it_redirects_anonymous_visitors_to_sign_in(client, patient):
    response = client.get(reverse("patients-detail", args=[patient.pk]))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_it_shows_a_patient_their_own_page(client, patient):
    login(client, patient.user)
    response = client.get(reverse("patients-detail", args=[patient.pk]), follow=True)
    assert response.redirect_chain == [(reverse("my-glucose"), 302)]  # not the workspace
    assert response.status_code == 200 and "<h1>My glucose</h1>" in response.content.decode()


def test_it_refuses_a_patient_another_patients_page(client, patient, other_patient):
    login(client, patient.user)
    response = client.get(reverse("patients-detail", args=[other_patient.pk]))
    assert response.status_code == 404


def test_it_refuses_outsiders_the_patient_list(client, patient):
    login(client, patient.user)
    assert client.get(reverse("patients-list")).status_code == 403


def test_it_sends_each_role_home(client, patient, alice, staff, admin_user):
    login(client, patient.user)
    response = client.get("/")  # the patient's own plain-language home (issue #13)
    assert response.status_code == 200 and "What to do next" in response.content.decode()
    login(client, alice)
    assert client.get("/")["Location"] == reverse("patients-list")
    login(client, staff)
    response = client.get("/")
    assert response.status_code == 200 and patient.name in response.content.decode()
    login(client, admin_user)
    assert client.get("/").status_code == 200


def test_it_lists_only_assigned_patients_for_triage(client, alice, patient, other_patient):
    login(client, alice)
    body = client.get(reverse("patients-list")).content.decode()
    assert patient.name in body
    assert other_patient.name not in body


def test_it_hides_clinical_detail_from_staff(client, staff, patient):
    login(client, staff)
    response = client.get(reverse("patients-detail", args=[patient.pk]))
    assert response.status_code == 200
    assert "Last 14 days" not in response.content.decode()


def test_it_audits_a_clinicians_view(client, alice, patient):
    login(client, alice)
    client.get(reverse("patients-detail", args=[patient.pk]))
    event = AuditEvent.objects.get(patient=patient)
    assert (event.user, event.patient, event.action) == (alice, patient, "view")


def test_it_does_not_audit_the_patient_viewing_themself(client, patient):
    login(client, patient.user)
    client.get(reverse("patients-detail", args=[patient.pk]))
    assert not AuditEvent.objects.filter(patient=patient).exists()


@pytest.mark.parametrize("language,text", [("en", "Sign in"), ("zh-hans", "登录")])
def test_it_speaks_english_and_chinese(client, db, language, text):
    client.cookies["django_language"] = language
    assert text in client.get(reverse("login")).content.decode()


def test_it_shows_the_patient_who_viewed_their_record(client, alice, bob, patient):
    login(client, alice)
    client.get(reverse("patients-detail", args=[patient.pk]))
    login(client, bob)
    client.get(reverse("patients-detail", args=[patient.pk]))  # refused: not his patient
    login(client, patient.user)
    client.get(reverse("patients-detail", args=[patient.pk]))  # the patient's own look
    page = client.get(reverse("patients-access", args=[patient.pk]))
    assert page.status_code == 200
    rows = [(e.username, e.role, e.action) for e in page.context["events"].object_list]
    assert rows == [("bob", "endocrinologist", "denied"), ("alice", "endocrinologist", "view")]
    assert "alice" in page.content.decode()
    old = client.get(reverse("patients-access", args=[patient.pk]), {"since": "2199-01-01"})
    assert list(old.context["events"].object_list) == []


def test_it_refuses_the_access_log_to_outsiders(client, bob, staff, patient, other_patient):
    for outsider in (other_patient.user, bob, staff):
        login(client, outsider)
        assert client.get(reverse("patients-access", args=[patient.pk])).status_code == 404


def test_it_answers_who_saw_the_patient_this_month_for_admins(client, alice, admin_user, patient):
    login(client, alice)
    client.get(reverse("patients-detail", args=[patient.pk]))
    login(client, admin_user)
    first = timezone.now().date().replace(day=1).isoformat()
    rows = client.get(reverse("api-audit"), {"patient": patient.pk, "since": first}).json()
    assert [(r["user"], r["role"], r["action"], r["outcome"]) for r in rows["results"]] == [
        ("alice", "endocrinologist", "view", "ok")
    ]
    assert rows["results"][0]["ip"] == "127.0.0.1"
    later = client.get(reverse("api-audit"), {"patient": patient.pk, "since": "2199-01-01"})
    assert later.json()["results"] == []
    assert client.get(reverse("api-audit"), {"since": "nope"}).status_code == 400


def test_it_refuses_bad_audit_filters_with_400(client, admin_user):
    login(client, admin_user)
    assert client.get(reverse("api-audit"), {"user": "a\x00b"}).status_code == 400
    assert client.get(reverse("api-audit"), {"action": "nope"}).status_code == 400
