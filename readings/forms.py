from django import forms
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
