from django import forms
from django.conf import settings
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext_lazy as _

from patients.models import validate_timezone
from readings.parsers import FORMATS

FORMAT_LABELS = {
    "auto": _("Detect automatically"),
    "dexcom": "Dexcom Clarity (CSV)",
    "libreview": "FreeStyle LibreView (CSV)",
    "carelink": "Medtronic CareLink (CSV)",
    "nightscout": "Nightscout (JSON)",
    "tidepool": "Tidepool (JSON)",
    "fhir": "FHIR R4 (JSON)",
    "csv": _("Plain CSV"),
}


class UploadForm(forms.Form):
    file = forms.FileField(label=_("Device export"))
    format = forms.ChoiceField(
        label=_("Format"),
        choices=[(name, FORMAT_LABELS[name]) for name in ("auto", *FORMATS)],
        initial="auto",
    )
    timezone = forms.CharField(
        label=_("Device clock time zone"),
        required=False,
        validators=[validate_timezone],
        help_text=_("Leave empty to use the patient's time zone."),
    )

    def clean_file(self):
        file = self.cleaned_data["file"]
        if file.size > settings.UPLOAD_MAX_BYTES:
            raise forms.ValidationError(upload_too_large_message())
        return file


def upload_too_large_message() -> str:
    return _("The file is larger than %(limit)s, the most this site accepts.") % {
        "limit": filesizeformat(settings.UPLOAD_MAX_BYTES)
    }


def declared_too_large(request) -> bool:
    """The request says (Content-Length) it carries more than an upload may be: refuse it
    before Django reads the body to a temporary file. Multipart framing gets 64 KB slack."""
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return False
    return length > settings.UPLOAD_MAX_BYTES + 64 * 1024


class DeviceTokenForm(forms.Form):
    """A token for one app. Reading back needs the patient's explicit, informed consent."""

    name = forms.CharField(label=_("App or device name"), max_length=100)
    scope = forms.ChoiceField(
        label=_("What it may do"),
        choices=[
            ("upload", _("Upload readings only (uploader apps: xDrip+, AndroidAPS, Loop)")),
            ("read", _("Read my glucose history (follower apps)")),
        ],
        initial="upload",
        widget=forms.RadioSelect,
    )
    grant_read = forms.BooleanField(
        label=_(
            "I understand that an app with this token can read all my glucose readings, "
            "treatments and device status until I revoke it."
        ),
        required=False,
    )

    def clean(self):
        data = super().clean()
        if data.get("scope") == "read" and not data.get("grant_read"):
            self.add_error("grant_read", _("Tick this box to let a follower app read your data."))
        return data
