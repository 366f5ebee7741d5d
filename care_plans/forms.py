"""Forms for the care-plan editor. They only clean input (types, units); the clinical rules
are ``care_plans.services.care_plan_validate``'s, whose messages are attached back here.

Glucose values may be typed in mg/dL or mmol/L (the ``unit`` selector) and are stored in
mg/dL. Fields show stored values as the display layer does (``glycemia.display.glucose_field``)
and typed values go back through ``glycemia.display.glucose_entered``: a value that shows as
the stored one keeps it exactly (140 mg/dL is shown 7.8 mmol/L, and an unchanged 7.8 stays 140,
not 7.8 × 18.01559 = 141), any other is converted (3.9 / 10.0 mmol/L land on 70 / 180).
``form_content`` therefore takes the content the editor was filled from (``base``).
"""

from __future__ import annotations

import math
import re

from django import forms
from django.utils.functional import lazy
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from care_plans.models import REPORT_CADENCE_DAYS, REVIEW_INTERVAL_DAYS, VISIT_CADENCE_DAYS
from care_plans.services import (
    CHECKS,
    DEFAULT_CHECKS,
    DOSE_UNITS,
    GOAL_COMPARISONS,
    MEDICATION_KINDS,
    MONITORING_MODES,
    PRESET_HBA1C_GOALS,
    SMBG_TAGS,
    TITRATION_ALGORITHMS,
    targets_from_preset,
    targets_settle_preset,
)
from glycemia import display
from glycemia.targets import PRESETS

UNITS = [("mg/dL", "mg/dL"), ("mmol/L", "mmol/L")]
PRESET_LABELS = {
    "standard": _("Type 1 / type 2 diabetes"),
    "older_high_risk": _("Older / high-risk"),
    "pregnancy_t1": _("Pregnancy (type 1, also used for GDM)"),
    "custom": _("Custom"),
}


def _days_label(days: int) -> str:
    return gettext("%(days)s days") % {"days": days}


_days_label_lazy = lazy(_days_label, str)  # choices are built at import: translate when shown


def _days(values):
    return [(v, _days_label_lazy(v)) for v in values]


def _number(value):
    """Decimal from a form -> int or float for JSON."""
    if value is None:
        return None
    value = float(value)
    return int(value) if value.is_integer() else value


class CarePlanForm(forms.Form):
    reason = forms.CharField(
        label=_("Reason for this version"),
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("Required: what changed and why (e.g. the report it responds to)."),
    )
    unit = forms.ChoiceField(label=_("Glucose unit"), choices=UNITS)
    preset = forms.ChoiceField(
        label=_("Start from"), choices=[(k, PRESET_LABELS[k]) for k in [*PRESETS, "custom"]]
    )
    range_low = forms.DecimalField(label=_("Target range from"), max_digits=6, decimal_places=1)
    range_high = forms.DecimalField(label=_("to"), max_digits=6, decimal_places=1)
    hba1c_goal_percent = forms.DecimalField(
        label=_("HbA1c goal (%)"), required=False, max_digits=4, decimal_places=1
    )
    diet_carb_g_per_day = forms.IntegerField(label=_("Carbohydrate (g/day)"), required=False)
    diet_kcal_per_day = forms.IntegerField(label=_("Energy (kcal/day)"), required=False)
    diet_notes = forms.CharField(
        label=_("Diet notes"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )
    exercise_minutes_per_week = forms.IntegerField(
        label=_("Exercise (minutes/week)"), required=False
    )
    exercise_notes = forms.CharField(
        label=_("Exercise notes"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )
    monitoring_mode = forms.ChoiceField(
        label=_("Monitoring"), choices=list(MONITORING_MODES.items())
    )
    cgm_wear_goal_percent = forms.IntegerField(label=_("CGM wear goal (%)"), required=False)
    smbg_readings_per_day = forms.IntegerField(label=_("Finger-sticks per day"), required=False)
    smbg_tags = forms.MultipleChoiceField(
        label=_("Finger-stick times"),
        choices=list(SMBG_TAGS.items()),
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    seven_point_before_visits = forms.BooleanField(
        label=_("7-point profile before each visit"), required=False
    )
    report_cadence_days = forms.TypedChoiceField(
        label=_("Report every"), choices=_days(REPORT_CADENCE_DAYS), coerce=int
    )
    visit_cadence_days = forms.TypedChoiceField(
        label=_("Follow-up visit every"), choices=_days(VISIT_CADENCE_DAYS), coerce=int
    )
    review_interval_days = forms.TypedChoiceField(
        label=_("Review this plan every"), choices=_days(REVIEW_INTERVAL_DAYS), coerce=int
    )
    patient_instructions = forms.CharField(
        label=_("Instructions for the patient"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    # The patient's day and the basal titration table: what the plan suggestions read (the
    # service checks the values; these only carry text).
    wake_time = forms.CharField(
        label=_("Wakes at"),
        required=False,
        max_length=8,
        widget=forms.TimeInput(attrs={"type": "time"}),
        help_text=_("The hour before it is the fasting hour."),
    )
    bedtime = forms.CharField(
        label=_("Goes to bed at"),
        required=False,
        max_length=8,
        widget=forms.TimeInput(attrs={"type": "time"}),
    )
    meal_times = forms.CharField(
        label=_("Usual meal times"),
        required=False,
        max_length=100,
        help_text=_("HH:MM, separated by commas; used on days with no meal recorded."),
    )
    titration_algorithm = forms.ChoiceField(
        label=_("Basal titration table"),
        required=False,
        choices=[("", _("None: no basal increase is suggested")), *TITRATION_ALGORITHMS.items()],
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for key, label in CHECKS.items():
            self.fields[f"check_{key}_days"] = forms.IntegerField(
                label=label, required=False, help_text=_("days; empty: not planned")
            )

    def check_fields(self):
        return [self[f"check_{key}_days"] for key in CHECKS]


class GoalForm(forms.Form):
    key = forms.CharField(widget=forms.HiddenInput)
    label = forms.CharField(widget=forms.HiddenInput, required=False)
    comparison = forms.ChoiceField(choices=[(c, c) for c in GOAL_COMPARISONS])
    target = forms.DecimalField(max_digits=5, decimal_places=1, label=_("%"))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # The goals table shows no <label> per cell: name each control by its row (the goal)
        # and its column header, so screen readers say "Time in range, Comparison".
        for name in ("comparison", "target"):
            self.fields[name].widget.attrs["aria-labelledby"] = (
                f"{self.prefix}-name goal-{name}-header"
            )


class MedicationForm(forms.Form):
    kind = forms.ChoiceField(
        label=_("Kind"), choices=[("", "—"), *MEDICATION_KINDS.items()], required=False
    )
    product = forms.CharField(label=_("Product"), required=False, max_length=200)
    dose = forms.DecimalField(label=_("Dose"), required=False, max_digits=9, decimal_places=3)
    dose_unit = forms.ChoiceField(
        label=_("Unit"), choices=[("", "—"), *[(u, u) for u in DOSE_UNITS]], required=False
    )
    timing = forms.CharField(label=_("When"), required=False, max_length=200)
    frequency = forms.CharField(label=_("How often"), required=False, max_length=200)
    carb_ratio_g_per_u = forms.DecimalField(
        label=_("Carb ratio (g per U)"), required=False, max_digits=6, decimal_places=1
    )
    correction_factor = forms.DecimalField(
        label=_("Correction factor (per U)"), required=False, max_digits=6, decimal_places=1
    )
    titration_rule = forms.CharField(
        label=_("Titration rule"),
        required=False,
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 2}),
    )

    def __init__(self, *args, unit: str = "mg/dL", **kwargs):
        super().__init__(*args, **kwargs)
        # The factor is typed and shown in the plan's glucose unit, named in its label.
        self.fields["correction_factor"].label = gettext("Correction factor (%(unit)s per U)") % {
            "unit": unit
        }

    def is_blank(self) -> bool:
        data = getattr(self, "cleaned_data", {}) or {}
        return not any(data.get(f) not in (None, "") for f in ("kind", "product", "dose"))


GoalFormSet = forms.formset_factory(GoalForm, extra=0)
MedicationFormSet = forms.formset_factory(MedicationForm, extra=1, can_delete=True)


# --- content <-> form ---------------------------------------------------------------------


def _display(value_mg_dl, unit: str):
    return display.glucose_field(value_mg_dl, unit)


def targets_initial(targets: dict, unit: str) -> tuple[dict, list[dict]]:
    """Form initial values (range in ``unit``) and goal rows for a targets dict."""
    initial = {
        "preset": targets.get("preset") or "custom",
        "unit": unit,
        "range_low": _display(targets.get("range_low"), unit),
        "range_high": _display(targets.get("range_high"), unit),
    }
    goals = [
        {**goal, "target": display.percent_value(goal.get("target"))}
        for goal in targets.get("goals", [])
    ]
    return initial, goals


def _med_key(med: dict) -> tuple:
    """A medication's identity, as ``care_plan_diff`` matches them: kind + product."""
    return (med.get("kind") or "", (med.get("product") or "").strip().lower())


def _typed_number(raw) -> float | None:
    """A number typed into a field (comma or point), or None; never raises."""
    if not isinstance(raw, str):
        return None
    try:
        value = float(raw.strip().replace(",", "."))
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def unit_switched(query) -> bool:
    """Whether an editor fragment request comes from the unit select: the fields were typed
    in ``shown_unit`` and must be re-said in ``unit``."""
    shown, unit = query.get("shown_unit"), query.get("unit")
    return shown in ("mg/dL", "mmol/L") and unit in ("mg/dL", "mmol/L") and shown != unit


def targets_in(query, unit: str, base: dict) -> tuple[dict, list[dict], dict]:
    """The editor's targets re-said in ``unit`` after the unit select changed (or "custom"
    was chosen): the range converted through ``base``'s values (so switching back and forth
    changes nothing: 140 mg/dL -> "7.8" -> 140, never 141), the preset, goals and HbA1c goal
    as they were typed. Returns (form initial, goal rows, the range in mg/dL)."""
    shown = query.get("shown_unit")
    shown = shown if shown in ("mg/dL", "mmol/L") else unit
    targets = base.get("targets") or {}
    preset = query.get("preset") if query.get("preset") in [*PRESETS, "custom"] else "custom"
    chosen = PRESETS.get(preset, {})
    initial = {
        "preset": preset,
        "unit": unit,
        "hba1c_goal_percent": query.get("hba1c_goal_percent"),
    }
    wording = {}  # the range in mg/dL, for naming the goals
    for field in ("range_low", "range_high"):
        typed = _typed_number(query.get(field))
        mg_dl = display.glucose_entered(typed, shown, targets.get(field), chosen.get(field))
        wording[field] = mg_dl
        initial[field] = (query.get(field) or None) if mg_dl is None else _display(mg_dl, unit)
    try:
        total = max(0, min(int(query.get("goal-TOTAL_FORMS", "0")), 50))
    except ValueError:
        total = 0
    goals = [
        {
            name: query.get(f"goal-{i}-{name}", "")
            for name in ("key", "label", "comparison", "target")
        }
        for i in range(total)
    ]
    return initial, goals, wording


def correction_factors_in(query, unit: str, base: dict | None = None) -> list:
    """The editor's correction factors re-said in ``unit`` after the unit select changed.

    The htmx request carries ``shown_unit`` (the unit the fields were typed in) and every
    ``med-N-correction_factor`` (with its row's kind and product, to find the stored value
    in ``base``); each comes back converted, labelled with the new unit, for an out-of-band
    swap — so "50" mg/dL per U never silently becomes "50" mmol/L per U.
    """
    if not unit_switched({"shown_unit": query.get("shown_unit"), "unit": unit}):
        return []
    shown = query.get("shown_unit")
    stored = {
        _med_key(med): med.get("correction_factor_mg_dl_per_u")
        for med in (base or {}).get("medications", [])
    }
    fields = []
    for name, raw in query.items():
        match = re.fullmatch(r"med-(\d+)-correction_factor", name)
        if not match:
            continue
        prefix = f"med-{match.group(1)}"
        key = _med_key(
            {"kind": query.get(f"{prefix}-kind"), "product": query.get(f"{prefix}-product")}
        )
        value = _typed_number(raw)
        if value is not None:
            value = _display(display.glucose_entered(value, shown, stored.get(key)), unit)
        form = MedicationForm(prefix=prefix, unit=unit, initial={"correction_factor": value})
        fields.append(form["correction_factor"])
    return fields


def preset_initial(preset: str, unit: str) -> tuple[dict, list[dict]]:
    """The preset's range and goals in ``unit``, and the HbA1c goal that goes with it."""
    initial, goals = targets_initial(targets_from_preset(preset), unit)
    initial["hba1c_goal_percent"] = PRESET_HBA1C_GOALS.get(preset)
    return initial, goals


def content_initial(content: dict, unit: str) -> tuple[dict, list[dict], list[dict]]:
    """(plan form initial, goal formset initial, medication formset initial)."""
    initial, goals = targets_initial(content["targets"], unit)
    checks = {c["key"]: c["interval_days"] for c in content.get("checks", [])}
    diet, exercise = content.get("diet", {}), content.get("exercise", {})
    monitoring = content.get("monitoring", {})
    initial.update(
        hba1c_goal_percent=content.get("hba1c_goal_percent"),
        diet_carb_g_per_day=diet.get("carb_g_per_day"),
        diet_kcal_per_day=diet.get("kcal_per_day"),
        diet_notes=diet.get("notes", ""),
        exercise_minutes_per_week=exercise.get("minutes_per_week"),
        exercise_notes=exercise.get("notes", ""),
        monitoring_mode=monitoring.get("mode"),
        cgm_wear_goal_percent=monitoring.get("cgm_wear_goal_percent"),
        smbg_readings_per_day=monitoring.get("smbg_readings_per_day"),
        smbg_tags=monitoring.get("smbg_tags", []),
        seven_point_before_visits=monitoring.get("seven_point_before_visits", False),
        report_cadence_days=content.get("report_cadence_days"),
        visit_cadence_days=content.get("visit_cadence_days"),
        review_interval_days=content.get("review_interval_days"),
        patient_instructions=content.get("patient_instructions", ""),
        wake_time=content.get("wake_time") or "07:00",
        bedtime=content.get("bedtime") or "22:00",
        meal_times=", ".join(content.get("meal_times") or ["07:00", "12:00", "18:00"]),
        titration_algorithm=content.get("titration_algorithm") or "",
        **{f"check_{key}_days": checks.get(key) for key in CHECKS},
    )
    meds = []
    for med in content.get("medications", []):
        row = dict(med)
        row["correction_factor"] = _display(row.pop("correction_factor_mg_dl_per_u", None), unit)
        meds.append(row)
    return initial, goals, meds


def _text_entered(typed: str, stored) -> str:
    """Typed text, or the stored text when they differ only in line ends (a browser sends
    CR LF): an untouched note is never rewritten."""
    if isinstance(stored, str) and typed.replace("\r\n", "\n") == stored.replace("\r\n", "\n"):
        return stored
    return typed


def form_content(
    form: CarePlanForm, goals: GoalFormSet, meds: MedicationFormSet, base: dict | None = None
) -> dict:
    """The plan content (mg/dL) from valid forms; clinical checks are left to the service.

    ``base`` is the content the editor was filled from (the current version, or the default
    for a first plan): a value typed as it was shown keeps ``base``'s value exactly
    (``glycemia.display.glucose_entered``), and the preset stays unless a target changed
    (``targets_settle_preset``).
    """
    data = form.cleaned_data
    unit = data["unit"]
    base = base or {}
    base_targets = base.get("targets") or {}
    preset = data["preset"]
    chosen = PRESETS.get(preset, {})

    def mg_dl(value, *shown):
        return display.glucose_entered(_number(value), unit, *shown)

    base_meds = {_med_key(m): m for m in base.get("medications", [])}
    medications = []
    for med_form in meds.forms:
        if not hasattr(med_form, "cleaned_data") or med_form.is_blank():
            continue
        if med_form.cleaned_data.get("DELETE"):
            continue
        med = med_form.cleaned_data
        before = base_meds.get(_med_key(med), {})
        medications.append(
            {
                "kind": med["kind"],
                "product": med["product"],
                "dose": _number(med["dose"]),
                "dose_unit": med["dose_unit"],
                "timing": _text_entered(med["timing"], before.get("timing")),
                "frequency": _text_entered(med["frequency"], before.get("frequency")),
                "carb_ratio_g_per_u": _number(med["carb_ratio_g_per_u"]),
                "correction_factor_mg_dl_per_u": mg_dl(
                    med["correction_factor"], before.get("correction_factor_mg_dl_per_u")
                ),
                "titration_rule": _text_entered(
                    med["titration_rule"], before.get("titration_rule")
                ),
            }
        )
    base_goals = {g.get("key"): g for g in base_targets.get("goals", [])}
    chosen_goals = {g["key"]: g for g in chosen.get("goals", [])}
    goal_rows = []
    for g in goals.forms:
        if not g.cleaned_data:
            continue
        key = g.cleaned_data["key"]
        target = display.percent_entered(
            float(g.cleaned_data["target"]),
            base_goals.get(key, {}).get("target"),
            chosen_goals.get(key, {}).get("target"),
        )
        goal_rows.append(
            {
                "key": key,
                "label": g.cleaned_data.get("label", ""),
                "comparison": g.cleaned_data["comparison"],
                "target": target,
            }
        )
    targets = targets_settle_preset(
        {
            "preset": preset,
            "range_low": mg_dl(
                data["range_low"], base_targets.get("range_low"), chosen.get("range_low")
            ),
            "range_high": mg_dl(
                data["range_high"], base_targets.get("range_high"), chosen.get("range_high")
            ),
            "goals": goal_rows,
        },
        base_targets,
    )
    diet, exercise = base.get("diet") or {}, base.get("exercise") or {}
    base_checks = {c.get("key"): c for c in base.get("checks", [])}
    hba1c = _number(data["hba1c_goal_percent"])
    return {
        "targets": {
            "preset": targets["preset"],
            "label": targets["label"],
            "range_low": targets["range_low"],
            "range_high": targets["range_high"],
            "goals": goal_rows,
        },
        "hba1c_goal_percent": display.percent_entered(hba1c, base.get("hba1c_goal_percent")),
        "medications": medications,
        "diet": {
            "carb_g_per_day": data["diet_carb_g_per_day"],
            "kcal_per_day": data["diet_kcal_per_day"],
            "notes": _text_entered(data["diet_notes"], diet.get("notes")),
        },
        "exercise": {
            "minutes_per_week": data["exercise_minutes_per_week"],
            "notes": _text_entered(data["exercise_notes"], exercise.get("notes")),
        },
        "monitoring": {
            "mode": data["monitoring_mode"],
            "cgm_wear_goal_percent": data["cgm_wear_goal_percent"],
            "smbg_readings_per_day": data["smbg_readings_per_day"],
            "smbg_tags": data["smbg_tags"],
            "seven_point_before_visits": data["seven_point_before_visits"],
        },
        "report_cadence_days": data["report_cadence_days"],
        "visit_cadence_days": data["visit_cadence_days"],
        "review_interval_days": data["review_interval_days"],
        "checks": [
            {
                "key": key,
                "label": base_checks.get(key, {}).get("label") or str(CHECKS[key]),
                "interval_days": data[f"check_{key}_days"],
            }
            for key in CHECKS
            if data.get(f"check_{key}_days") is not None
        ],
        "patient_instructions": _text_entered(
            data["patient_instructions"], base.get("patient_instructions")
        ),
        # Checked (and defaulted when left empty) by care_plans.services.care_plan_clean.
        "wake_time": data["wake_time"],
        "bedtime": data["bedtime"],
        "meal_times": data["meal_times"],
        "titration_algorithm": data["titration_algorithm"],
    }


_FIELD_FOR_PATH = {
    "targets": "range_low",
    "targets.preset": "preset",
    "targets.range_low": "range_low",
    "targets.range_high": "range_high",
    "hba1c_goal_percent": "hba1c_goal_percent",
    "diet.carb_g_per_day": "diet_carb_g_per_day",
    "diet.kcal_per_day": "diet_kcal_per_day",
    "exercise.minutes_per_week": "exercise_minutes_per_week",
    "monitoring.mode": "monitoring_mode",
    "monitoring.cgm_wear_goal_percent": "cgm_wear_goal_percent",
    "monitoring.smbg_readings_per_day": "smbg_readings_per_day",
    "monitoring.smbg_tags": "smbg_tags",
    "report_cadence_days": "report_cadence_days",
    "visit_cadence_days": "visit_cadence_days",
    "review_interval_days": "review_interval_days",
    "reason": "reason",
    "wake_time": "wake_time",
    "bedtime": "bedtime",
    "meal_times": "meal_times",
    "titration_algorithm": "titration_algorithm",
}
_MED_FIELD = {"correction_factor_mg_dl_per_u": "correction_factor"}


def attach_errors(
    errors: dict[str, list[str]],
    form: CarePlanForm,
    goals: GoalFormSet,
    meds: MedicationFormSet,
) -> None:
    """Put the service's errors (dotted paths) next to the fields they are about."""
    live_meds = [
        f
        for f in meds.forms
        if hasattr(f, "cleaned_data") and not f.is_blank() and not f.cleaned_data.get("DELETE")
    ]
    check_keys = [key for key in CHECKS if form.cleaned_data.get(f"check_{key}_days") is not None]
    for path, messages in errors.items():
        parts = path.split(".")
        target, field = form, _FIELD_FOR_PATH.get(path)
        if parts[0] == "medications" and len(parts) == 3 and int(parts[1]) < len(live_meds):
            target, field = live_meds[int(parts[1])], _MED_FIELD.get(parts[2], parts[2])
        elif parts[:2] == ["targets", "goals"] and len(parts) == 4:
            if int(parts[2]) < len(goals.forms):
                target, field = goals.forms[int(parts[2])], parts[3]
        elif parts[0] == "checks" and len(parts) == 3 and int(parts[1]) < len(check_keys):
            field = f"check_{check_keys[int(parts[1])]}_days"
        if field is not None and field not in target.fields:
            field = None
        for message in messages:
            target.add_error(field, message)


def default_checks_initial() -> dict:
    return {f"check_{key}_days": days for key, days in DEFAULT_CHECKS}
