"""Front-desk forms: an outreach attempt and a booking invite. They only clean input."""

from django import forms
from django.utils.translation import gettext_lazy as _

from common.dates import validate_day
from visits.models_frontdesk import Channel, Outcome


class OutreachForm(forms.Form):
    channel = forms.ChoiceField(label=_("How"), choices=Channel.choices)
    outcome = forms.ChoiceField(
        label=_("Outcome"), choices=[c for c in Outcome.choices if c[0] != Outcome.INVITE_SENT]
    )
    note = forms.CharField(label=_("Note"), max_length=300, required=False)
    retry_on = forms.DateField(
        label=_("Try again on"),
        required=False,
        validators=[validate_day],
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    prefer = forms.BooleanField(label=_("The patient prefers this channel"), required=False)


class InviteForm(forms.Form):
    channel = forms.ChoiceField(
        label=_("Send by"),
        choices=[("", _("Preferred channel"))]
        + [c for c in Channel.choices if c[0] != Channel.PHONE],
        required=False,
    )
