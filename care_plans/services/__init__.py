"""Care-plan processes, one module per process (callers import from ``care_plans.services``):

- ``defaults``: what a plan holds (its content's shape, the vocabulary: medication kinds, dose
  units and limits, goals, checks, monitoring modes) and a new plan's default content from the
  consensus presets (``preset_for``, ``care_plan_default_content``);
- ``validation``: content cleaned and checked field by field (``care_plan_clean``,
  ``care_plan_validate``);
- ``revisions``: the current version, a new version (``care_plan_revise``) and the diff
  between two versions (``care_plan_diff``);
- ``targets``: the targets in force (``effective_targets``), titration warnings and the plan's
  goals met or missed, as reports and pages ask for them;
- ``cadences``: days between reports, the plan's review due, the checks due.

Glucose values are mg/dL (DESIGN §3); forms convert mmol/L input before it gets here.
"""

from __future__ import annotations

from care_plans.services.cadences import (
    checks_due,
    report_cadence_days,
    review_due,
    reviews_overdue,
)
from care_plans.services.defaults import (
    BELOW_GOAL_KEYS,
    CHECKS,
    DEFAULT_CHECKS,
    DOSE_UNITS,
    GOAL_COMPARISONS,
    GOAL_LABELS,
    MEDICATION_KINDS,
    MONITORING_MODES,
    OLDER_ADULT_AGE,
    PRESET_HBA1C_GOALS,
    RANGE_MAX_MG_DL,
    RANGE_MIN_MG_DL,
    SMBG_TAGS,
    TITRATION_ALGORITHMS,
    care_plan_default_content,
    preset_for,
    targets_from_preset,
    targets_settle_preset,
    with_schedule_defaults,
)
from care_plans.services.revisions import (
    MED_FIELD_LABELS,
    care_plan_current,
    care_plan_diff,
    care_plan_reads_shared,
    care_plan_revise,
    care_plan_version,
    nothing_changed_message,
    prompt_link_error,
    prompt_resolve,
    prompt_token,
    report_link_error,
)
from care_plans.services.targets import (
    effective_targets,
    is_up_titration,
    plan_goal_status,
    targets_for,
    targets_of_version,
    titration_warnings,
)
from care_plans.services.validation import (
    NothingChanged,
    care_plan_clean,
    care_plan_validate,
)

__all__ = [
    "BELOW_GOAL_KEYS",
    "CHECKS",
    "DEFAULT_CHECKS",
    "DOSE_UNITS",
    "GOAL_COMPARISONS",
    "GOAL_LABELS",
    "MEDICATION_KINDS",
    "MED_FIELD_LABELS",
    "MONITORING_MODES",
    "NothingChanged",
    "OLDER_ADULT_AGE",
    "PRESET_HBA1C_GOALS",
    "RANGE_MAX_MG_DL",
    "RANGE_MIN_MG_DL",
    "SMBG_TAGS",
    "TITRATION_ALGORITHMS",
    "care_plan_clean",
    "care_plan_current",
    "care_plan_reads_shared",
    "care_plan_default_content",
    "care_plan_diff",
    "care_plan_revise",
    "care_plan_validate",
    "care_plan_version",
    "checks_due",
    "effective_targets",
    "is_up_titration",
    "nothing_changed_message",
    "plan_goal_status",
    "preset_for",
    "report_cadence_days",
    "prompt_link_error",
    "prompt_resolve",
    "prompt_token",
    "report_link_error",
    "review_due",
    "reviews_overdue",
    "targets_for",
    "targets_from_preset",
    "targets_of_version",
    "targets_settle_preset",
    "titration_warnings",
    "with_schedule_defaults",
]
