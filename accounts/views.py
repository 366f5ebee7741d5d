from base64 import b32encode

import segno
from django import forms
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.safestring import mark_safe
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_http_methods, require_POST
from django_otp import login as otp_login
from django_otp import match_token, user_has_device
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.access import audit
from accounts.models import AuditEvent, User
from accounts.services import two_factor_enrol


class PreferencesForm(forms.ModelForm):
    class Meta:
        model = User
        fields = ["unit", "language"]
        labels = {"unit": _("Glucose unit"), "language": _("Language")}


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def preferences(request):
    form = PreferencesForm(request.POST or None, instance=request.user)
    if request.method == "POST" and form.is_valid():
        form.save()
        messages.success(request, _("Preferences saved."))
        response = redirect("preferences")
        if form.cleaned_data["language"]:
            response.set_cookie("django_language", form.cleaned_data["language"])
        return response
    return render(request, "accounts/preferences.html", {"form": form})


class TokenForm(forms.Form):
    token = forms.CharField(
        label=_("Code"),
        max_length=16,
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric"}),
    )


RECOVERY_CODES = 10


def _next_url(request) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if url_has_allowed_host_and_scheme(target, {request.get_host()}, request.is_secure()):
        return target
    return reverse("home")


@require_http_methods(["GET", "HEAD", "POST"])
@login_required
def two_factor_setup(request):
    """Enrol an authenticator app: a QR code drawn here (no third party sees the secret),
    a code to confirm it, then recovery codes shown once."""
    user = request.user
    if user_has_device(user) and not user.is_verified():
        return redirect(f"{reverse('two-factor-verify')}?next={reverse('two-factor-setup')}")
    device = TOTPDevice.objects.filter(user=user, confirmed=False).first()
    if device is None:
        device = TOTPDevice.objects.create(user=user, name="authenticator", confirmed=False)
    form = TokenForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        if device.verify_token(form.cleaned_data["token"].strip()):
            codes = two_factor_enrol(user=user, device=device, recovery_codes=RECOVERY_CODES)
            otp_login(request, device)
            audit(user, None, AuditEvent.Action.CHANGE, "two-factor sign-in set up")
            context = {"codes": codes, "next": _next_url(request)}
            return render(request, "accounts/two_factor_codes.html", context)
        form.add_error("token", _("That code is not right. Check the time on your phone."))
    qr = segno.make(device.config_url, error="m").svg_inline(
        scale=4, title=str(_("QR code for your authenticator app"))
    )
    context = {
        "form": form,
        "qr": mark_safe(qr),  # noqa: S308 — segno's SVG of our own otpauth URL
        "secret": b32encode(device.bin_key).decode(),
        "enrolled": user_has_device(user),
        "next": _next_url(request),
    }
    return render(request, "accounts/two_factor_setup.html", context)


@require_http_methods(["GET", "HEAD", "POST"])
@login_required
def two_factor_verify(request):
    """The second step of signing in: a code from the app, or one recovery code."""
    form = TokenForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        device = match_token(request.user, form.cleaned_data["token"].strip())
        if device is not None:
            otp_login(request, device)
            audit(request.user, None, AuditEvent.Action.SIGN_IN, "second factor given")
            return redirect(_next_url(request))
        audit(
            request.user,
            None,
            AuditEvent.Action.SIGN_IN,
            "second factor refused",
            outcome=AuditEvent.Outcome.FAILED,
        )
        form.add_error("token", _("That code is not right, or was already used."))
    context = {"form": form, "next": _next_url(request)}
    return render(request, "accounts/two_factor_verify.html", context)


@require_POST
@login_required
def sign_out_everywhere(request):
    """End every session of this account, on every browser and device, this one included."""
    user = request.user
    user.sign_out_everywhere()
    audit(user, None, AuditEvent.Action.SIGN_OUT, "signed out everywhere")
    logout(request)
    messages.success(request, _("You were signed out on every device."))
    return redirect("login")
