"""Signing in: lockout after failures, two-factor sign-in, password pages, sessions."""

import time

import pytest
from django.core import mail
from django.test import override_settings
from django.urls import reverse
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.models import AuditEvent
from tests.conftest import PASSWORD

WITH_AXES = override_settings(
    AXES_ENABLED=True,
    AUTHENTICATION_BACKENDS=[
        "axes.backends.AxesStandaloneBackend",
        "django.contrib.auth.backends.ModelBackend",
    ],
    AXES_FAILURE_LIMIT=5,
)


def sign_in(client, username, password, address="198.51.100.7"):
    return client.post(
        reverse("login"), {"username": username, "password": password}, REMOTE_ADDR=address
    )


@WITH_AXES
def test_it_locks_out_a_username_after_repeated_failures(client, alice):
    answers = [sign_in(client, "alice", f"guess-{n}").status_code for n in range(50)]
    assert answers[:4] == [200] * 4  # the form again, with an error
    assert set(answers[5:]) == {429}  # then no fresh form at all
    # Even the right password is refused while locked, from another address too.
    assert sign_in(client, "alice", PASSWORD, address="198.51.100.99").status_code == 429
    assert "_auth_user_id" not in client.session


@WITH_AXES
def test_it_locks_out_an_address_trying_many_usernames(client, alice, bob):
    for n in range(5):
        sign_in(client, f"nobody{n}", "x", address="203.0.113.50")
    assert sign_in(client, "bob", PASSWORD, address="203.0.113.50").status_code == 429
    assert sign_in(client, "bob", PASSWORD, address="203.0.113.51").status_code == 302


@WITH_AXES
def test_it_forgets_failures_after_a_successful_sign_in(client, alice):
    for n in range(4):
        sign_in(client, "alice", f"guess-{n}")
    assert sign_in(client, "alice", PASSWORD).status_code == 302
    client.logout()
    for n in range(4):
        assert sign_in(client, "alice", f"again-{n}").status_code == 200


def _code(device: TOTPDevice) -> str:
    return f"{totp(device.bin_key, device.step, device.t0, device.digits):06d}"


NO_OTP_DELAY = {"OTP_TOTP_THROTTLE_FACTOR": 0, "OTP_STATIC_THROTTLE_FACTOR": 0}


@override_settings(REQUIRE_2FA=True, **NO_OTP_DELAY)
def test_it_makes_a_clinician_set_up_two_factor_before_anything_else(client, alice, patient):
    assert sign_in(client, "alice", PASSWORD).status_code == 302
    page = client.get(reverse("patients-detail", args=[patient.pk]))
    assert page.status_code == 302 and page.url.startswith(reverse("two-factor-setup"))
    api = client.get(reverse("api-patients-list"))
    assert api.status_code == 403 and "Two-factor" in api.json()["detail"]
    setup = client.get(page.url)
    assert setup.status_code == 200 and b"<svg" in setup.content  # QR drawn locally
    device = TOTPDevice.objects.get(user=alice, confirmed=False)
    wrong = client.post(reverse("two-factor-setup"), {"token": "000000"})
    assert wrong.status_code == 200 and not TOTPDevice.objects.filter(confirmed=True).exists()
    done = client.post(reverse("two-factor-setup"), {"token": _code(device)})
    assert done.status_code == 200
    codes = done.context["codes"]
    assert len(codes) == 10
    assert client.get(reverse("patients-detail", args=[patient.pk])).status_code == 200


@override_settings(REQUIRE_2FA=True, **NO_OTP_DELAY)
def test_it_asks_for_the_code_at_each_sign_in_and_takes_a_recovery_code_once(client, alice):
    sign_in(client, "alice", PASSWORD)
    client.get(reverse("two-factor-setup"))
    device = TOTPDevice.objects.get(user=alice)
    codes = client.post(reverse("two-factor-setup"), {"token": _code(device)}).context["codes"]
    client.logout()
    sign_in(client, "alice", PASSWORD)
    home = client.get(reverse("home"))
    assert home.url.startswith(reverse("two-factor-verify"))
    bad = client.post(reverse("two-factor-verify"), {"token": "12345678"})
    assert bad.status_code == 200
    assert AuditEvent.objects.filter(what="second factor refused", outcome="failed").exists()
    ok = client.post(reverse("two-factor-verify"), {"token": codes[0], "next": "/patients/"})
    assert ok.status_code == 302 and ok.url == "/patients/"
    client.logout()
    sign_in(client, "alice", PASSWORD)
    reused = client.post(reverse("two-factor-verify"), {"token": codes[0]})
    assert reused.status_code == 200  # a recovery code works once


@override_settings(REQUIRE_2FA=True)
def test_it_slows_down_guessing_codes(client, alice):
    device = TOTPDevice.objects.create(user=alice, name="phone", confirmed=True)
    sign_in(client, "alice", PASSWORD)
    client.post(reverse("two-factor-verify"), {"token": "000000"})
    # Right after a wrong guess even the right code is refused: guesses cannot be rapid-fire.
    assert client.post(reverse("two-factor-verify"), {"token": _code(device)}).status_code == 200
    assert client.get(reverse("home")).url.startswith(reverse("two-factor-verify"))


@override_settings(REQUIRE_2FA=True)
def test_it_does_not_redirect_to_another_site_after_the_code(client, alice):
    sign_in(client, "alice", PASSWORD)
    client.get(reverse("two-factor-setup"))
    device = TOTPDevice.objects.get(user=alice)
    response = client.post(
        reverse("two-factor-setup") + "?next=https://evil.example/", {"token": _code(device)}
    )
    assert response.context["next"] == reverse("home")


@override_settings(REQUIRE_2FA=True)
def test_it_leaves_two_factor_optional_for_patients(client, patient):
    sign_in(client, "pat", PASSWORD)
    assert client.get(reverse("my-glucose")).status_code == 200


def test_it_lets_a_newcomer_sign_in_on_the_demo_defaults(client, alice, patient):
    sign_in(client, "alice", PASSWORD)  # REQUIRE_2FA is off with DEBUG=1 (tests run so)
    assert client.get(reverse("patients-detail", args=[patient.pk])).status_code == 200


def test_it_holds_a_patient_who_opted_in_at_the_second_step(client, patient):
    device = TOTPDevice.objects.create(user=patient.user, name="phone", confirmed=True)
    sign_in(client, "pat", PASSWORD)
    page = client.get(reverse("my-glucose"))
    assert page.url.startswith(reverse("two-factor-verify"))
    client.post(reverse("two-factor-verify"), {"token": _code(device)})
    assert client.get(reverse("my-glucose")).status_code == 200


def test_it_changes_the_password(client, alice):
    sign_in(client, "alice", PASSWORD)
    assert client.get(reverse("password_change")).status_code == 200
    response = client.post(
        reverse("password_change"),
        {
            "old_password": PASSWORD,
            "new_password1": "Ub3r-long-pass",
            "new_password2": "Ub3r-long-pass",
        },
    )
    assert response.status_code == 302
    alice.refresh_from_db()
    assert alice.check_password("Ub3r-long-pass")


def test_it_resets_a_forgotten_password_by_email(client, alice):
    alice.email = "alice@example.org"
    alice.save()
    response = client.post(reverse("password_reset"), {"email": "alice@example.org"})
    assert response.status_code == 302
    (message,) = mail.outbox
    link = next(line for line in message.body.splitlines() if "/accounts/password/reset/" in line)
    path = link.split("testserver", 1)[1]
    form = client.get(path, follow=True)
    assert form.status_code == 200 and form.context["validlink"]
    done = client.post(
        form.redirect_chain[-1][0],
        {"new_password1": "Ub3r-long-pass", "new_password2": "Ub3r-long-pass"},
    )
    assert done.status_code == 302
    alice.refresh_from_db()
    assert alice.check_password("Ub3r-long-pass")
    assert client.get(path, follow=True).context["validlink"] is False  # used once


def test_it_translates_the_password_pages(client):
    page = client.get(reverse("password_reset"), HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert "重置密码" in page.content.decode()


@override_settings(SESSION_IDLE_TIMEOUT_MINUTES=30)
def test_it_signs_out_an_idle_clinician_but_not_a_patient(client, alice, patient):
    sign_in(client, "alice", PASSWORD)
    assert client.get(reverse("patients-list")).status_code == 200
    session = client.session
    session["last_seen"] = int(time.time()) - 31 * 60
    session.save()
    response = client.get(reverse("patients-list"))
    assert response.status_code == 302 and response.url.startswith(reverse("login"))
    assert client.get(reverse("patients-list")).status_code == 302  # signed out for good
    sign_in(client, "pat", PASSWORD)
    session = client.session
    session["last_seen"] = int(time.time()) - 24 * 3600
    session.save()
    assert client.get(reverse("my-glucose")).status_code == 200


def test_it_signs_out_everywhere(client, alice):
    other_browser = client.__class__()
    sign_in(client, "alice", PASSWORD)
    sign_in(other_browser, "alice", PASSWORD)
    assert other_browser.get(reverse("patients-list")).status_code == 200
    assert client.post(reverse("sign-out-everywhere")).status_code == 302
    assert other_browser.get(reverse("patients-list")).status_code == 302
    assert client.get(reverse("patients-list")).status_code == 302
    assert AuditEvent.objects.filter(what="signed out everywhere", username="alice").exists()


def test_it_refuses_sign_out_everywhere_by_get_or_anonymously(client, alice):
    assert client.post(reverse("sign-out-everywhere")).status_code == 302  # to sign-in
    sign_in(client, "alice", PASSWORD)
    assert client.get(reverse("sign-out-everywhere")).status_code == 405


@pytest.mark.parametrize("name", ["two-factor-setup", "two-factor-verify", "password_change"])
def test_it_refuses_the_account_pages_to_outsiders(client, name):
    response = client.get(reverse(name))
    assert response.status_code == 302 and response.url.startswith(reverse("login"))
