"""The upload form, written for a patient who has never heard of a file format.

The person chooses the device (or app) they export from, and sees how to export from it;
the format is detected from the file itself. The technical format list is still there, under
"More options", for whoever needs it. The time zone is a list, set to the patient's own.
"""

import zoneinfo

from django import forms
from django.conf import settings
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext_lazy as _

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

# Devices a person recognises, the format their export has, and how to get that export.
DEVICES = {
    "dexcom": {
        "label": _("Dexcom (G6, G7, ONE) — Dexcom Clarity"),
        "format": "dexcom",
        "steps": [
            _("Sign in at clarity.dexcom.com (or open the Clarity app)."),
            _("Choose the dates, then the Export button (arrow icon) at the top right."),
            _("Save the CSV file and choose it below."),
        ],
    },
    "libre": {
        "label": _("FreeStyle Libre — LibreView"),
        "format": "libreview",
        "steps": [
            _("Sign in at libreview.com."),
            _("Open Glucose History, then Download glucose data."),
            _("Save the CSV file and choose it below."),
        ],
    },
    "medtronic": {
        "label": _("Medtronic pump or Guardian sensor — CareLink"),
        "format": "carelink",
        "steps": [
            _("Sign in at carelink.minimed.eu (or carelink.minimed.com)."),
            _("Open Reports, choose Data Export (CSV), pick the dates."),
            _("Save the CSV file and choose it below."),
        ],
    },
    "app": {
        "label": _("Phone app: xDrip+, AndroidAPS, Loop, Nightscout, Tidepool"),
        "format": "auto",
        "steps": [
            _(
                "Easiest: link the app once with the Nightscout settings on your page; "
                "readings then arrive by themselves."
            ),
            _(
                "Or export your data from the app or your Nightscout or Tidepool site "
                "and choose that file below."
            ),
        ],
    },
    "other": {
        "label": _("Another device, or I am not sure"),
        "format": "auto",
        "steps": [_("Choose the file; we recognise the kind of file by its content.")],
    },
}


def _zones() -> list[tuple[str, str]]:
    return [(name, name.replace("_", " ")) for name in sorted(zoneinfo.available_timezones())]


class UploadForm(forms.Form):
    device = forms.ChoiceField(
        label=_("Which device or app is the file from?"),
        choices=[(key, device["label"]) for key, device in DEVICES.items()],
        initial="other",
        widget=forms.RadioSelect,
        required=False,
    )
    file = forms.FileField(label=_("The exported file"))
    timezone = forms.ChoiceField(
        label=_("Time zone of the device's clock"),
        required=False,
        help_text=_("Where the device was set when the readings were taken."),
    )
    format = forms.ChoiceField(
        label=_("File format (advanced)"),
        choices=[(name, FORMAT_LABELS[name]) for name in ("auto", *FORMATS)],
        initial="auto",
        required=False,
    )

    def __init__(self, *args, patient=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["timezone"].choices = _zones()
        if patient is not None:
            self.fields["timezone"].initial = patient.timezone

    def requested_format(self) -> str:
        """The advanced choice if one was made, else what the chosen device exports."""
        chosen = self.cleaned_data.get("format") or "auto"
        if chosen != "auto":
            return chosen
        device = DEVICES.get(self.cleaned_data.get("device") or "other", DEVICES["other"])
        return device["format"]

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
