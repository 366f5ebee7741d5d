"""Forms of the on-call rota page: a shift (wall-clock dates and times in the center's zone)
and the center's lead. Storing and the rules are ``monitoring.services.rota``."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from monitoring.services.rota import RotaError, local_instant, rota_clinicians

DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
TIME = forms.TimeInput(attrs={"type": "time"}, format="%H:%M")


class ClinicianChoice(forms.ModelChoiceField):
    def label_from_instance(self, obj) -> str:
        return obj.get_full_name() or obj.username


class ShiftForm(forms.Form):
    clinician = ClinicianChoice(queryset=None, label=_("Clinician on call"))
    start_date = forms.DateField(label=_("From (date)"), widget=DATE)
    start_time = forms.TimeField(label=_("From (time)"), widget=TIME)
    end_date = forms.DateField(label=_("Until (date)"), widget=DATE)
    end_time = forms.TimeField(label=_("Until (time)"), widget=TIME)

    def __init__(self, *args, center, **kwargs):
        super().__init__(*args, **kwargs)
        self.center = center
        self.fields["clinician"].queryset = rota_clinicians(center)

    def clean(self):
        data = super().clean()
        if self.errors:
            return data
        try:
            data["start"] = local_instant(
                data["start_date"], data["start_time"], self.center.timezone
            )
            data["end"] = local_instant(data["end_date"], data["end_time"], self.center.timezone)
        except RotaError as exc:
            raise forms.ValidationError(str(exc)) from None
        return data


class LeadForm(forms.Form):
    lead = ClinicianChoice(
        queryset=None, required=False, label=_("Center lead"), empty_label=_("(nobody)")
    )

    def __init__(self, *args, center, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["lead"].queryset = rota_clinicians(center)
