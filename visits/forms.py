"""Visit forms: they only clean input."""

import datetime as dt

from django import forms
from django.utils.translation import gettext_lazy as _

from care_plans.services import CHECKS
from patients.metrics_api import EARLIEST_DAY, LATEST_DAY
from visits.models import CheckResult


class BookForm(forms.Form):
    patient = forms.IntegerField(widget=forms.HiddenInput)
    visit_type = forms.IntegerField(widget=forms.HiddenInput)
    clinician = forms.IntegerField(widget=forms.HiddenInput)
    start = forms.DateTimeField(widget=forms.HiddenInput)


class SlotSearchForm(forms.Form):
    date = forms.DateField(label=_("Date"), widget=forms.DateInput(attrs={"type": "date"}))
    days = forms.IntegerField(min_value=1, max_value=31, initial=7, required=False)


class CancelForm(forms.Form):
    reason = forms.CharField(label=_("Reason for cancelling"), max_length=300)


class RescheduleRequestForm(forms.Form):
    note = forms.CharField(label=_("Which days or times suit you?"), max_length=300, required=False)


class CompleteForm(forms.Form):
    checks_done = forms.MultipleChoiceField(
        label=_("Checks done at this visit"),
        choices=[(key, label) for key, label in CHECKS.items()],
        widget=forms.CheckboxSelectMultiple,
        required=False,
    )
    hba1c_percent = forms.DecimalField(
        label=_("HbA1c (%)"), min_value=3, max_value=20, decimal_places=1, required=False
    )
    eyes = forms.ChoiceField(
        label=_("Eye examination"), choices=[("", "—"), *CheckResult.choices], required=False
    )
    egfr = forms.IntegerField(
        label=_("eGFR (mL/min/1.73 m²)"), min_value=1, max_value=200, required=False
    )
    urine_acr_mg_g = forms.DecimalField(
        label=_("Urine albumin/creatinine (mg/g)"), min_value=0, decimal_places=1, required=False
    )
    feet = forms.ChoiceField(
        label=_("Foot examination"), choices=[("", "—"), *CheckResult.choices], required=False
    )

    RESULT_FIELDS = ("hba1c_percent", "eyes", "egfr", "urine_acr_mg_g", "feet")

    def __init__(self, *args, clinical: bool, **kwargs):
        super().__init__(*args, **kwargs)
        if not clinical:  # staff record which checks were done, never results
            for name in self.RESULT_FIELDS:
                del self.fields[name]


def parse_date(value: str | None, default: dt.date) -> dt.date:
    """``value`` as a date, or ``default`` when it is missing, malformed or outside the
    calendar the app stores (``EARLIEST_DAY`` .. ``LATEST_DAY``: a week view of 9999-12-31
    would overflow)."""
    try:
        day = dt.date.fromisoformat(value) if value else default
    except ValueError:
        return default
    return day if EARLIEST_DAY <= day <= LATEST_DAY else default


def parse_id(value: str | None) -> int | None:
    """A database id from a query or form value, or None for anything else ("abc", "1.5",
    "²", a number too large for a bigint): a bad id finds nothing instead of a 500.

    >>> parse_id("12"), parse_id("abc"), parse_id("9" * 30)
    (12, None, None)
    """
    value = value or ""
    if value.isascii() and value.isdigit() and len(value) <= 18:
        return int(value)
    return None
