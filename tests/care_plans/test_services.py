"""Validation, presets, revision numbering, diffs and the helpers other apps use."""

import datetime as dt
import json
import threading

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.db import connection
from django.utils import timezone

from care_plans.models import CarePlanVersion
from care_plans.services import (
    NothingChanged,
    care_plan_current,
    care_plan_default_content,
    care_plan_diff,
    care_plan_revise,
    care_plan_validate,
    checks_due,
    report_cadence_days,
    review_due,
    targets_for,
    targets_from_preset,
    targets_settle_preset,
)
from glycemia.targets import PRESETS, evaluate_metrics
from tests.conftest import make_patient

GLARGINE = {
    "kind": "insulin_basal",
    "product": "Insulin glargine",
    "dose": 18,
    "dose_unit": "U",
    "timing": "bedtime",
    "frequency": "once daily",
}
ASPART = {
    "kind": "insulin_bolus",
    "product": "Insulin aspart",
    "dose": 6,
    "dose_unit": "U",
    "timing": "before meals",
    "carb_ratio_g_per_u": 10,
    "correction_factor_mg_dl_per_u": 50,
}
METFORMIN = {"kind": "metformin", "product": "Metformin", "dose": 1000, "dose_unit": "mg"}


@pytest.fixture
def content(patient):
    return care_plan_default_content(patient=patient)


def with_(content, **changes):
    return {**content, **changes}


# --- validation ---------------------------------------------------------------------------


def test_it_accepts_the_default_content(content):
    assert care_plan_validate(content) == {}


def test_it_accepts_a_full_medication_list(content):
    assert care_plan_validate(with_(content, medications=[GLARGINE, ASPART, METFORMIN])) == {}


def test_it_refuses_a_range_low_not_below_high(content):
    errors = care_plan_validate(
        with_(content, targets={**content["targets"], "range_low": 180, "range_high": 70})
    )
    assert "targets.range_high" in errors


def test_it_refuses_an_implausible_range_limit(content):
    errors = care_plan_validate(
        with_(content, targets={**content["targets"], "range_low": 40, "range_high": 300})
    )
    assert "50 and 250 mg/dL" in errors["targets.range_low"][0]
    assert "targets.range_high" in errors


def test_it_refuses_an_unknown_preset(content):
    errors = care_plan_validate(with_(content, targets={**content["targets"], "preset": "x"}))
    assert "targets.preset" in errors


def test_it_refuses_a_goal_outside_0_to_100(content):
    goals = [dict(g) for g in content["targets"]["goals"]]
    goals[0]["target"] = 120
    errors = care_plan_validate(with_(content, targets={**content["targets"], "goals": goals}))
    assert errors == {"targets.goals.0.target": ["A goal is a percentage between 0 and 100."]}


def test_it_refuses_a_bad_goal_comparison(content):
    goals = [dict(g) for g in content["targets"]["goals"]]
    goals[1]["comparison"] = "=="
    errors = care_plan_validate(with_(content, targets={**content["targets"], "goals": goals}))
    assert "targets.goals.1.comparison" in errors


def test_it_refuses_a_zero_or_negative_dose(content):
    errors = care_plan_validate(with_(content, medications=[{**GLARGINE, "dose": 0}]))
    assert errors == {"medications.0.dose": ["The dose must be more than zero."]}
    errors = care_plan_validate(with_(content, medications=[{**GLARGINE, "dose": -4}]))
    assert "medications.0.dose" in errors


@pytest.mark.parametrize(
    "med",
    [
        {**GLARGINE, "dose": 250},
        {**ASPART, "dose": 150},
        {**METFORMIN, "dose": 3500},
        {**METFORMIN, "dose": 4, "dose_unit": "g"},
        {"kind": "sglt2", "product": "Empagliflozin", "dose": 500, "dose_unit": "mg"},
    ],
)
def test_it_refuses_a_dose_above_the_plausible_maximum(content, med):
    errors = care_plan_validate(with_(content, medications=[med]))
    assert "plausible maximum" in errors["medications.0.dose"][0]


def test_it_accepts_microgram_doses_of_glp1(content):
    med = {"kind": "glp1_ra", "product": "Exenatide", "dose": 10, "dose_unit": "mcg"}
    assert care_plan_validate(with_(content, medications=[med])) == {}


def test_it_requires_a_dose_unit(content):
    errors = care_plan_validate(with_(content, medications=[{**GLARGINE, "dose_unit": ""}]))
    assert errors == {"medications.0.dose_unit": ["Give the dose unit (U, mg, µg…)."]}


def test_it_refuses_insulin_in_mg(content):
    errors = care_plan_validate(with_(content, medications=[{**GLARGINE, "dose_unit": "mg"}]))
    assert errors == {"medications.0.dose_unit": ["Insulin is dosed in units (U)."]}


def test_it_refuses_an_unknown_kind_and_missing_product(content):
    errors = care_plan_validate(
        with_(content, medications=[{**GLARGINE, "kind": "magic", "product": ""}])
    )
    assert {"medications.0.kind", "medications.0.product"} <= set(errors)


def test_it_refuses_a_carb_ratio_on_basal_insulin(content):
    errors = care_plan_validate(
        with_(content, medications=[{**GLARGINE, "carb_ratio_g_per_u": 10}])
    )
    assert "medications.0.carb_ratio_g_per_u" in errors


def test_it_refuses_the_same_medication_twice(content):
    errors = care_plan_validate(
        with_(content, medications=[GLARGINE, {**GLARGINE, "product": "insulin GLARGINE"}])
    )
    assert "medications.1.product" in errors


@pytest.mark.parametrize(
    "field,value",
    [("report_cadence_days", 10), ("visit_cadence_days", 45), ("review_interval_days", 0)],
)
def test_it_refuses_a_cadence_outside_the_allowed_values(content, field, value):
    errors = care_plan_validate(with_(content, **{field: value}))
    assert list(errors) == [field]
    assert "must be one of" in errors[field][0]


def test_it_refuses_an_implausible_hba1c_goal(content):
    assert "hba1c_goal_percent" in care_plan_validate(with_(content, hba1c_goal_percent=3))


def test_it_requires_a_wear_goal_for_cgm_and_readings_per_day_for_smbg(content):
    cgm = with_(content, monitoring={**content["monitoring"], "cgm_wear_goal_percent": None})
    assert "monitoring.cgm_wear_goal_percent" in care_plan_validate(cgm)
    smbg = with_(content, monitoring={**content["monitoring"], "mode": "smbg"})
    assert "monitoring.smbg_readings_per_day" in care_plan_validate(smbg)


def test_it_refuses_unknown_smbg_tags_and_check_intervals(content):
    errors = care_plan_validate(
        with_(
            content,
            monitoring={**content["monitoring"], "smbg_tags": ["lunchtime"]},
            checks=[{"key": "eyes", "interval_days": 0}],
        )
    )
    assert {"monitoring.smbg_tags", "checks.0.interval_days"} <= set(errors)


def test_it_survives_garbage(content):
    errors = care_plan_validate({"targets": "x", "medications": "y", "checks": 3})
    assert "targets" in errors and "medications" in errors and "checks" in errors


# --- presets by diabetes type -------------------------------------------------------------


def test_it_starts_type_1_and_type_2_from_the_standard_preset(center):
    for mrn, kind in (("A1", "T1"), ("A2", "T2")):
        content = care_plan_default_content(patient=make_patient(mrn, diabetes_type=kind))
        assert content["targets"]["preset"] == "standard"
        assert (content["targets"]["range_low"], content["targets"]["range_high"]) == (70, 180)
        tir = content["targets"]["goals"][0]
        assert (tir["key"], tir["comparison"], tir["target"]) == ("in_range_percent", ">", 70.0)


def test_it_starts_gdm_from_the_pregnancy_range(db):
    patient = make_patient("G1", diabetes_type="GDM", birth_date=dt.date(1995, 5, 5))
    content = care_plan_default_content(patient=patient)
    assert content["targets"]["preset"] == "pregnancy_t1"
    assert (content["targets"]["range_low"], content["targets"]["range_high"]) == (63, 140)
    assert content["monitoring"]["mode"] == "smbg"
    assert content["report_cadence_days"] == 7
    assert care_plan_validate(content) == {}


def test_a_meter_only_patient_starts_with_a_finger_stick_schedule_and_no_wear_goal(db):
    from readings.models import Device, Reading

    patient = make_patient("M1", diabetes_type="T2", birth_date=dt.date(1970, 1, 1))
    meter = Device.objects.create(patient=patient, identity="meter-1", kind="meter")
    Reading.objects.create(
        patient=patient, device=meter, timestamp=timezone.now(), value_mg_dl=150, kind="smbg"
    )
    monitoring = care_plan_default_content(patient=patient)["monitoring"]
    assert monitoring["mode"] == "smbg" and monitoring["cgm_wear_goal_percent"] is None
    assert monitoring["smbg_readings_per_day"] and "fasting" in monitoring["smbg_tags"]
    sensor = Device.objects.create(patient=patient, identity="cgm-1", kind="cgm")
    Reading.objects.create(
        patient=patient, device=sensor, timestamp=timezone.now(), value_mg_dl=150, kind="cgm"
    )
    monitoring = care_plan_default_content(patient=patient)["monitoring"]
    assert monitoring["mode"] == "cgm" and monitoring["cgm_wear_goal_percent"] == 70


def years_ago(today: dt.date, years: int) -> dt.date:
    """The same day ``years`` earlier; 29 February goes to the 28th in a common year (the
    test failed on 2028-02-29 with 'day is out of range for month')."""
    try:
        return today.replace(year=today.year - years)
    except ValueError:
        return today.replace(year=today.year - years, day=28)


def test_it_starts_people_over_65_from_the_older_preset(db):
    today = timezone.localdate()
    old = make_patient("O1", diabetes_type="T2", birth_date=years_ago(today, 70))
    assert care_plan_default_content(patient=old)["targets"]["preset"] == "older_high_risk"
    tir = care_plan_default_content(patient=old)["targets"]["goals"][0]
    assert tir["target"] == 50.0
    just_65 = make_patient("O2", birth_date=years_ago(today, 65))
    assert care_plan_default_content(patient=just_65)["targets"]["preset"] == "standard"


@pytest.mark.parametrize(
    ("today", "preset"),
    [
        # Born on 29 February 1960: 65 until the end of February 2026, 66 from 1 March (the
        # birthday of a leap-day child falls on 1 March in a common year, as in UK law).
        (dt.date(2026, 2, 28), "standard"),
        (dt.date(2026, 3, 1), "older_high_risk"),
    ],
)
def test_it_ages_a_leap_day_birthday_on_the_first_of_march(db, today, preset):
    with time_machine.travel(dt.datetime.combine(today, dt.time(12), tzinfo=dt.UTC), tick=False):
        person = make_patient("L1", diabetes_type="T2", birth_date=dt.date(1960, 2, 29))
        assert care_plan_default_content(patient=person)["targets"]["preset"] == preset


# --- revising -----------------------------------------------------------------------------


def test_it_numbers_versions_from_one(patient, alice, content):
    first = care_plan_revise(patient=patient, by=alice, reason="start", content=content)
    second = care_plan_revise(
        patient=patient,
        by=alice,
        reason="more reports",
        content=with_(content, report_cadence_days=7),
    )
    assert (first.number, second.number) == (1, 2)
    assert care_plan_current(patient=patient) == second
    assert report_cadence_days(patient) == 7


def test_it_refuses_an_invalid_revision_with_field_messages(patient, alice, content):
    with pytest.raises(ValidationError) as caught:
        care_plan_revise(
            patient=patient, by=alice, reason="", content=with_(content, report_cadence_days=3)
        )
    assert set(caught.value.message_dict) == {"reason", "report_cadence_days"}
    assert not CarePlanVersion.objects.exists()


def test_it_stores_normalized_content(patient, alice, content):
    version = care_plan_revise(
        patient=patient,
        by=alice,
        reason="start",
        content=with_(content, medications=[{**GLARGINE, "dose": "18", "dose_unit": "u"}]),
    )
    med = version.content["medications"][0]
    assert (med["dose"], med["dose_unit"], med["carb_ratio_g_per_u"]) == (18, "U", None)


def test_it_refuses_a_version_that_changes_nothing(patient, alice, content):
    first = care_plan_revise(patient=patient, by=alice, reason="start", content=content)
    same = json.loads(json.dumps(first.content))
    with pytest.raises(NothingChanged) as caught:
        care_plan_revise(patient=patient, by=alice, reason="again", content=same)
    assert caught.value.message_dict == {
        "__all__": [
            "Nothing changed: this is the same as version 1. Change the plan, or leave it as it is."
        ]
    }
    # Normalization is no change either: "18" and "u" are 18 and "U".
    meds = with_(content, medications=[GLARGINE])
    care_plan_revise(patient=patient, by=alice, reason="basal", content=meds)
    typed = with_(content, medications=[{**GLARGINE, "dose": "18", "dose_unit": "u"}])
    with pytest.raises(NothingChanged):
        care_plan_revise(patient=patient, by=alice, reason="again", content=typed)
    assert CarePlanVersion.objects.count() == 2


def test_it_keeps_the_preset_only_while_its_targets_are_unchanged():
    pregnancy = targets_from_preset("pregnancy_t1")
    numbers = {k: v for k, v in pregnancy.items() if k not in ("preset", "label")}
    # Unchanged numbers, whatever was chosen: the preset (and label) the plan had.
    for chosen in (None, "custom", "standard"):
        settled = targets_settle_preset({**numbers, "preset": chosen}, pregnancy)
        assert (settled["preset"], settled["label"]) == ("pregnancy_t1", "Pregnancy, type 1")
    # The numbers of the chosen preset: that preset.
    standard = {k: v for k, v in PRESETS["standard"].items() if k != "label"}
    settled = targets_settle_preset({**standard, "preset": "standard"}, pregnancy)
    assert settled["preset"] == "standard"
    # A target that really changed: custom.
    wider = {**numbers, "range_high": 141, "preset": "pregnancy_t1"}
    assert targets_settle_preset(wider, pregnancy)["preset"] == "custom"
    goals = [
        {**g, "target": 5.0} if g["key"] == "below_target_percent" else g for g in numbers["goals"]
    ]
    laxer = {**numbers, "goals": goals, "preset": "pregnancy_t1"}
    assert targets_settle_preset(laxer, pregnancy) | {"goals": None} == {
        **laxer,
        "goals": None,
        "preset": "custom",
        "label": "",
    }


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(
    connection.vendor != "postgresql", reason="row locks need PostgreSQL; SQLite serializes"
)
def test_it_never_duplicates_numbers_under_concurrent_revisions(center, alice):
    from django.db import connections

    patient = make_patient("C1", center=center, endocrinologists=[alice])
    content = care_plan_default_content(patient=patient)
    care_plan_revise(patient=patient, by=alice, reason="start", content=content)
    barrier = threading.Barrier(6)
    errors = []

    def revise(i):
        try:
            barrier.wait()
            exercise = {**content["exercise"], "minutes_per_week": 160 + i}  # each a change
            mine = {**content, "exercise": exercise}
            care_plan_revise(patient=patient, by=alice, reason=f"thread {i}", content=mine)
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=revise, args=(i,)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    numbers = sorted(CarePlanVersion.objects.values_list("number", flat=True))
    assert not errors
    assert numbers == [1, 2, 3, 4, 5, 6, 7]


# --- diff ---------------------------------------------------------------------------------


def test_it_diffs_medications_added_changed_and_stopped(content):
    old = with_(content, medications=[GLARGINE, METFORMIN])
    new = with_(content, medications=[{**GLARGINE, "dose": 20}, ASPART])
    changes = {(c["label"], c["change"]): c for c in care_plan_diff(old=old, new=new)}
    assert changes[("Insulin glargine", "changed")]["fields"] == ["dose"]
    assert changes[("Insulin glargine", "changed")]["old"]["dose"] == 18
    assert ("Insulin aspart", "added") in changes
    assert ("Metformin", "stopped") in changes
    assert len(changes) == 3


def test_it_treats_a_new_product_as_stop_and_start(content):
    old = with_(content, medications=[GLARGINE])
    new = with_(content, medications=[{**GLARGINE, "product": "Insulin degludec"}])
    kinds = sorted(c["change"] for c in care_plan_diff(old=old, new=new))
    assert kinds == ["added", "stopped"]


def test_it_diffs_target_changes(content):
    goals = [dict(g) for g in content["targets"]["goals"]]
    goals[0]["target"] = 60.0
    new = with_(content, targets={**content["targets"], "range_high": 160, "goals": goals})
    changes = care_plan_diff(old=content, new=new)
    by_field = {(c["field"], c["change"]) for c in changes}
    assert ("targets.range_high", "changed") in by_field
    assert ("targets.goals", "changed") in by_field
    range_change = next(c for c in changes if c["field"] == "targets.range_high")
    assert (range_change["old"], range_change["new"]) == (180, 160)


def test_it_diffs_nothing_between_equal_versions(content):
    assert care_plan_diff(old=content, new=content) == []


def test_it_diffs_versions_stored_in_the_database(patient, alice, content):
    v1 = care_plan_revise(patient=patient, by=alice, reason="a", content=content)
    v2 = care_plan_revise(
        patient=patient, by=alice, reason="b", content=with_(content, visit_cadence_days=180)
    )
    assert [c["field"] for c in care_plan_diff(old=v1, new=v2)] == ["visit_cadence_days"]


# --- helpers for other apps ---------------------------------------------------------------


def test_it_gives_reports_the_consensus_targets_without_a_plan(patient):
    targets = targets_for(patient)
    assert (targets["range_low"], targets["range_high"]) == (70, 180)
    assert report_cadence_days(patient) == 14


def test_it_gives_reports_the_plans_targets_in_evaluate_metrics_shape(patient, alice, content):
    goals = [dict(g) for g in content["targets"]["goals"]]
    goals[0]["target"] = 60.0
    care_plan_revise(
        patient=patient,
        by=alice,
        reason="relax TIR",
        content=with_(content, targets={**content["targets"], "goals": goals}),
    )
    results = evaluate_metrics({"in_range_percent": 65.0}, targets_for(patient))
    assert results[0]["key"] == "in_range_percent"
    assert results[0]["met"] is True  # 65 > 60 (it would fail the consensus 70)


def test_it_computes_the_review_date(patient, alice, content):
    version = care_plan_revise(patient=patient, by=alice, reason="a", content=content)
    written = timezone.localdate(version.created_at, patient.tzinfo)
    assert review_due(patient) == (written + dt.timedelta(days=90), False)
    CarePlanVersion.objects.filter(pk=version.pk).update(
        created_at=timezone.now() - dt.timedelta(days=100)
    )
    due, overdue = review_due(patient)
    assert overdue and due < timezone.localdate()


def test_it_reports_no_review_due_without_a_plan(patient):
    assert review_due(patient) == (None, False)


def test_it_lists_checks_due(patient, alice, content):
    care_plan_revise(patient=patient, by=alice, reason="a", content=content)
    rows = checks_due(patient, {"eyes": dt.date(2024, 1, 1)})
    assert rows[0]["key"] == "eyes" and rows[0]["due"] == dt.date(2024, 12, 31)


def _leaf_paths(value, path=""):
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _leaf_paths(item, f"{path}.{key}" if path else key)
    elif isinstance(value, list) and value and isinstance(value[0], dict):
        for i, item in enumerate(value):
            yield from _leaf_paths(item, f"{path}.{i}")
    else:
        yield path


def _changed(value):
    if isinstance(value, bool):
        return not value
    if isinstance(value, int | float):
        return value + 1
    if isinstance(value, str):
        return value + " (changed)"
    if isinstance(value, list):
        return [*value, "bedtime"] if "bedtime" not in value else value[:-1]
    return 1  # None


def _set(content, path, value):
    import copy

    out = copy.deepcopy(content)
    node, parts = out, path.split(".")
    for part in parts[:-1]:
        node = node[int(part)] if isinstance(node, list) else node[part]
    node[parts[-1]] = value
    return out


def test_it_shows_a_change_to_every_field_of_a_version(content):
    """Every leaf of a plan version, changed alone, appears in the diff (was: only doses)."""
    full = with_(
        content,
        medications=[
            {
                **GLARGINE,
                "carb_ratio_g_per_u": 10,
                "correction_factor_mg_dl_per_u": 50,
                "titration_rule": "+2 U every 3 days while fasting > 130",
            }
        ],
        diet={"carb_g_per_day": 180, "kcal_per_day": 2000, "notes": "less rice"},
        patient_instructions="Call if below 70 twice in a week",
    )
    paths = list(_leaf_paths(full))
    assert "medications.0.titration_rule" in paths and "targets.label" in paths
    assert len(paths) > 40
    for path in paths:
        node = full
        for part in path.split("."):
            node = node[int(part)] if isinstance(node, list) else node[part]
        changes = care_plan_diff(old=full, new=_set(full, path, _changed(node)))
        assert changes, f"a change to {path} is missing from the diff"


def test_it_names_a_changed_titration_rule_in_the_review(content, rf):
    from django.template.loader import render_to_string

    old = with_(content, medications=[{**GLARGINE, "titration_rule": "+2 U every 3 days"}])
    new = with_(content, medications=[{**GLARGINE, "titration_rule": "+4 U every 3 days"}])
    html = render_to_string(
        "care_plans/_diff.html",
        {"diff": care_plan_diff(old=old, new=new), "glucose_unit": "mmol/L"},
    )
    assert "+2 U every 3 days" in html and "+4 U every 3 days" in html
    old = with_(content, medications=[{**GLARGINE, "correction_factor_mg_dl_per_u": 50}])
    new = with_(content, medications=[{**GLARGINE, "correction_factor_mg_dl_per_u": 40}])
    html = render_to_string(
        "care_plans/_diff.html",
        {"diff": care_plan_diff(old=old, new=new), "glucose_unit": "mmol/L"},
    )
    assert "2.8 mmol/L/U" in html and "2.2 mmol/L/U" in html  # 50 and 40 mg/dL per U
