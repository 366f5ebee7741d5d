"""Visit forms: they only clean input."""

import datetime as dt

from django import forms
from django.utils.translation import gettext_lazy as _

from accounts.models import User
from care_plans.services import CHECKS
from common.dates import parse_day, validate_day
from visits.models import (
    Availability,
    AvailabilityException,
    CheckResult,
    ClosedDay,
    FootRisk,
    OpeningHours,
    RetinopathyGrade,
    Room,
    VisitType,
)


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
    hba1c = forms.DecimalField(
        label=_("HbA1c"), min_value=3, max_value=195, max_digits=5, decimal_places=1, required=False
    )
    hba1c_unit = forms.ChoiceField(
        label=_("HbA1c unit"), choices=[("%", "%"), ("mmol/mol", "mmol/mol")], required=False
    )
    eyes = forms.ChoiceField(
        label=_("Eye examination"), choices=[("", "—"), *CheckResult.choices], required=False
    )
    egfr = forms.IntegerField(
        label=_("eGFR (mL/min/1.73 m²)"), min_value=1, max_value=200, required=False
    )
    urine_acr = forms.DecimalField(  # the column's digits: 10**400 overflowed PostgreSQL
        label=_("Urine albumin/creatinine"),
        min_value=0,
        max_digits=6,
        decimal_places=1,
        required=False,
    )
    urine_acr_unit = forms.ChoiceField(
        label=_("Urine albumin/creatinine unit"),
        choices=[("mg/mmol", "mg/mmol"), ("mg/g", "mg/g")],
        required=False,
    )
    feet = forms.ChoiceField(
        label=_("Foot examination"), choices=[("", "—"), *CheckResult.choices], required=False
    )
    # Issue #19 §5: the other results as data (bounds checked by visits.services.results).
    systolic_mm_hg = forms.IntegerField(
        label=_("Blood pressure, systolic (mmHg)"), min_value=50, max_value=300, required=False
    )
    diastolic_mm_hg = forms.IntegerField(
        label=_("Blood pressure, diastolic (mmHg)"), min_value=20, max_value=200, required=False
    )
    weight_kg = forms.DecimalField(
        label=_("Weight (kg)"),
        min_value=1,
        max_value=500,
        max_digits=4,
        decimal_places=1,
        required=False,
    )
    retinopathy_grade = forms.ChoiceField(
        label=_("Retinopathy grade"),
        choices=[("", "—"), *RetinopathyGrade.choices],
        required=False,
    )
    foot_risk = forms.ChoiceField(
        label=_("Foot risk category (IWGDF)"),
        choices=[("", "—"), *FootRisk.choices],
        required=False,
    )

    RESULT_FIELDS = (
        "hba1c",
        "hba1c_unit",
        "systolic_mm_hg",
        "diastolic_mm_hg",
        "weight_kg",
        "eyes",
        "retinopathy_grade",
        "egfr",
        "urine_acr",
        "urine_acr_unit",
        "feet",
        "foot_risk",
    )

    def clean(self):
        data = super().clean()
        if data.get("hba1c") is None:  # the unit alone is no result
            data.pop("hba1c_unit", None)
        elif not data.get("hba1c_unit"):
            data["hba1c_unit"] = "%"
        if data.get("urine_acr") is None:
            data.pop("urine_acr_unit", None)
        elif not data.get("urine_acr_unit"):
            data["urine_acr_unit"] = "mg/mmol"
        return data

    def __init__(self, *args, clinical: bool, **kwargs):
        super().__init__(*args, **kwargs)
        if not clinical:  # staff record which checks were done, never results
            for name in self.RESULT_FIELDS:
                del self.fields[name]


def parse_date(value: str | None, default: dt.date) -> dt.date:
    """``value`` as a date, or ``default`` when it is missing; a malformed date or one outside
    the calendar (``common.dates``: a week view of 9999-12-31 would overflow) is a
    bad request, answered 400."""
    return parse_day(value, "date") or default


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


# --- Setup: a center's hours, closed days and rooms; a clinician's week; visit types ---------
#
# ModelForms that clean input against the rows already there (no overlapping periods on a
# weekday, no second closed day on a date); the setup views save them and audit the change.

TIME = forms.TimeInput(attrs={"type": "time"}, format="%H:%M")
DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


def _in_calendar(day: dt.date | None) -> dt.date | None:
    validate_day(day)
    return day


def _ordered(form: forms.Form, start: str, end: str) -> None:
    a, b = form.cleaned_data.get(start), form.cleaned_data.get(end)
    if a is not None and b is not None and b <= a:
        form.add_error(end, _("The end must be after the start."))


def overlapping(start: dt.time, end: dt.time, periods) -> bool:
    """Whether half-open ``[start, end)`` overlaps any of ``periods`` (pairs of times).

    >>> t = dt.time
    >>> overlapping(t(9), t(12), [(t(12), t(13))]), overlapping(t(9), t(12), [(t(11), t(13))])
    (False, True)
    """
    return any(a < end and start < b for a, b in periods)


class OpeningHoursForm(forms.ModelForm):
    class Meta:
        model = OpeningHours
        fields = ["weekday", "opens", "closes"]
        widgets = {"opens": TIME, "closes": TIME}

    def __init__(self, *args, center, **kwargs):
        super().__init__(*args, **kwargs)
        self.instance.center = center

    def clean(self):
        data = super().clean()
        _ordered(self, "opens", "closes")
        if not self.errors:
            others = OpeningHours.objects.filter(
                center=self.instance.center, weekday=data["weekday"]
            ).values_list("opens", "closes")
            if overlapping(data["opens"], data["closes"], others):
                raise forms.ValidationError(_("This period overlaps another on the same day."))
        return data


class ClosedDayForm(forms.ModelForm):
    class Meta:
        model = ClosedDay
        fields = ["date", "reason"]
        widgets = {"date": DATE}
        labels = {"reason": _("Reason (e.g. public holiday)")}

    def __init__(self, *args, center, **kwargs):
        super().__init__(*args, **kwargs)
        self.instance.center = center

    def clean_date(self):
        day = _in_calendar(self.cleaned_data["date"])
        if ClosedDay.objects.filter(center=self.instance.center, date=day).exists():
            raise forms.ValidationError(_("This day is already closed."))
        return day


class RoomForm(forms.ModelForm):
    class Meta:
        model = Room
        fields = ["name"]

    def __init__(self, *args, center, **kwargs):
        super().__init__(*args, **kwargs)
        self.instance.center = center

    def clean_name(self):
        name = self.cleaned_data["name"].strip()
        if Room.objects.filter(center=self.instance.center, name__iexact=name).exists():
            raise forms.ValidationError(_("There is already a room with this name."))
        return name


class AvailabilityForm(forms.ModelForm):
    """A weekly session; it may not overlap the clinician's other sessions that weekday."""

    class Meta:
        model = Availability
        fields = ["weekday", "starts", "ends", "room"]
        widgets = {"starts": TIME, "ends": TIME}

    def __init__(self, *args, center, clinician, **kwargs):
        super().__init__(*args, **kwargs)
        self.instance.center, self.instance.clinician = center, clinician
        self.fields["room"].queryset = Room.objects.filter(center=center)
        self.fields["room"].empty_label = _("No room")

    def clean(self):
        data = super().clean()
        _ordered(self, "starts", "ends")
        if not self.errors:
            others = Availability.objects.filter(
                clinician=self.instance.clinician, weekday=data["weekday"]
            ).values_list("starts", "ends")
            if overlapping(data["starts"], data["ends"], others):
                raise forms.ValidationError(
                    _("This session overlaps another session of this clinician on that day.")
                )
        return data


class AvailabilityExceptionForm(forms.ModelForm):
    """Leave or training (whole day without times, or between them) or an extra session
    (times required, not overlapping the clinician's sessions that day)."""

    class Meta:
        model = AvailabilityException
        fields = ["date", "kind", "starts", "ends", "room", "note"]
        widgets = {"date": DATE, "starts": TIME, "ends": TIME}
        help_texts = {"starts": _("Leave both times empty for the whole day.")}

    def __init__(self, *args, center, clinician, **kwargs):
        super().__init__(*args, **kwargs)
        self.instance.center, self.instance.clinician = center, clinician
        self.fields["room"].queryset = Room.objects.filter(center=center)
        self.fields["room"].empty_label = _("No room")
        self.fields["kind"].initial = AvailabilityException.Kind.LEAVE

    def clean_date(self):
        return _in_calendar(self.cleaned_data["date"])

    def clean(self):
        data = super().clean()
        starts, ends = data.get("starts"), data.get("ends")
        if (starts is None) != (ends is None) and not self.has_error("starts"):
            if not self.has_error("ends"):
                self.add_error("ends", _("Give both times, or neither for the whole day."))
        elif data.get("kind") == AvailabilityException.Kind.EXTRA and starts is None:
            self.add_error("starts", _("An extra session needs its start and end times."))
        _ordered(self, "starts", "ends")
        if not self.errors and data["kind"] == AvailabilityException.Kind.EXTRA:
            clinician = self.instance.clinician
            sessions = Availability.objects.filter(
                clinician=clinician, weekday=data["date"].weekday()
            ).values_list("starts", "ends")
            extras = AvailabilityException.objects.filter(
                clinician=clinician, date=data["date"], kind=AvailabilityException.Kind.EXTRA
            ).values_list("starts", "ends")
            if overlapping(starts, ends, [*sessions, *extras]):
                raise forms.ValidationError(
                    _("This session overlaps another session of this clinician on that day.")
                )
        return data


CLINICIAN_ROLES = [
    (value, label)
    for value, label in User.Role.choices
    if value in (User.Role.ENDOCRINOLOGIST, User.Role.NURSE, User.Role.DIETITIAN)
]


class VisitTypeForm(forms.ModelForm):
    """Duration 5–480 minutes (the model's check constraint), at least one clinician role."""

    roles = forms.MultipleChoiceField(
        label=_("Who may take it"), choices=CLINICIAN_ROLES, widget=forms.CheckboxSelectMultiple
    )
    duration_minutes = forms.IntegerField(label=_("Duration (minutes)"), min_value=5, max_value=480)

    class Meta:
        model = VisitType
        fields = [
            "name",
            "code",
            "duration_minutes",
            "roles",
            "mode",
            "is_follow_up",
            "patient_bookable",
            "active",
        ]
        help_texts = {
            "code": _("A short identifier (letters, digits, _ and -), unique."),
            "mode": _("In-person visits take the room of the clinician's session."),
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.initial["roles"] = self.instance.role_list
            # The code names the type to the worklist (follow_up, urgent), to its translated
            # label and to API clients: fixed once the type exists.
            self.fields["code"].disabled = True

    def clean_roles(self):
        return ",".join(self.cleaned_data["roles"])
