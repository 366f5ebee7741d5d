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
