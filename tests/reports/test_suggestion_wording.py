"""Plan suggestions' evidence worded in the reader's language and glucose unit from the rule,
kind and params (issue #21): every rule kind in English and Simplified Chinese, in mg/dL and
mmol/L, against hand-written sentences; numbers converted by hand (mmol/L = mg/dL / 18.0156,
one decimal): 70 -> 3.9, 54 -> 3.0, 50 -> 2.8, 63 -> 3.5, 72 -> 4.0, 75 -> 4.2, 80 -> 4.4,
110 -> 6.1, 130 -> 7.2, 180 -> 10.0. Old rows without params keep their English summary."""

from __future__ import annotations

import html as htmllib
import re

import pytest
from django.urls import reverse
from django.utils import translation

from reports.suggestion_wording import evidence_text

TARGETS = {"range_low": 70, "range_high": 180}


def worded(rule, kind, params, unit, language, summary="stored English", targets=TARGETS):
    with translation.override(language):
        return evidence_text(rule, kind, {"summary": summary, "params": params}, unit, targets)


def check(rule, kind, params, expected: dict):
    for (language, unit), text in expected.items():
        assert worded(rule, kind, params, unit, language) == text, (language, unit)


CGM_LOWS = {
    "below_percent": 5.234,
    "below_goal": 4,
    "very_low_percent": 1.5,
    "very_low_goal": 1,
    "threshold_mg_dl": 70,
}


def test_basal_decrease_after_cgm_lows():
    params = {
        **CGM_LOWS,
        "step_percent": 20.0,
        "timing": ["overnight", "after_meal"],
        "lows_days": 3,
        "actions": [
            {"verb": "lower", "product": "Insulin glargine", "from": 20, "to": 16, "unit": "U"}
        ],
    }
    check(
        "hypoglycaemia_first",
        "basal_decrease",
        params,
        {
            ("en", "mg/dL"): "Time below 70 mg/dL 5.2 % (goal < 4 %), below 54 mg/dL 1.5 % "
            "(goal < 1 %). Lows overnight (00:00–06:00) and within 4 h after meals on 3 days "
            "point to the basal insulin. Lower Insulin glargine by 20 %: 20 U → 16 U.",
            ("en", "mmol/L"): "Time below 3.9 mmol/L 5.2 % (goal < 4 %), below 3.0 mmol/L "
            "1.5 % (goal < 1 %). Lows overnight (00:00–06:00) and within 4 h after meals on 3 "
            "days point to the basal insulin. Lower Insulin glargine by 20 %: 20 U → 16 U.",
            ("zh-hans", "mmol/L"): "低于 3.9 mmol/L 的时间（TBR）5.2 %（目标 < 4 %），"
            "低于 3.0 mmol/L 的时间 1.5 %（目标 < 1 %）。 3 天的低血糖发生在夜间（00:00–06:00）"
            "和餐后 4 小时内，提示与基础胰岛素有关。 Insulin glargine减少 20 %：20 U → 16 U。",
            ("zh-hans", "mg/dL"): "低于 70 mg/dL 的时间（TBR）5.2 %（目标 < 4 %），"
            "低于 54 mg/dL 的时间 1.5 %（目标 < 1 %）。 3 天的低血糖发生在夜间（00:00–06:00）"
            "和餐后 4 小时内，提示与基础胰岛素有关。 Insulin glargine减少 20 %：20 U → 16 U。",
        },
    )


def test_bolus_decrease_after_meter_lows_with_the_carb_ratio():
    params = {
        "low_days": 2,
        "very_low_readings": 0,
        "threshold_mg_dl": 70,
        "step_percent": 10.0,
        "timing": ["daytime"],
        "lows_days": 1,
        "actions": [
            {
                "verb": "lower",
                "product": None,
                "from": 10,
                "to": 9,
                "unit": "U",
                "ratio_from": 10,
                "ratio_to": 11,
            }
        ],
    }
    check(
        "hypoglycaemia_first",
        "bolus_decrease",
        params,
        {
            ("en", "mg/dL"): "Finger-sticks below 70 mg/dL on 2 days, 0 below 54 mg/dL. Lows "
            "during the day, not after a meal on 1 day point to the mealtime insulin. Lower "
            "mealtime insulin by 10 %: 10 U → 9 U; carbohydrate ratio 10 → 11 g/U.",
            ("en", "mmol/L"): "Finger-sticks below 3.9 mmol/L on 2 days, 0 below 3.0 mmol/L. "
            "Lows during the day, not after a meal on 1 day point to the mealtime insulin. "
            "Lower mealtime insulin by 10 %: 10 U → 9 U; carbohydrate ratio 10 → 11 g/U.",
            ("zh-hans", "mmol/L"): "指尖血糖低于 3.9 mmol/L 的天数为 2 天，其中 0 次低于 "
            "3.0 mmol/L。 1 天的低血糖发生在日间非餐后，提示与餐时胰岛素有关。 "
            "餐时胰岛素减少 10 %：10 U → 9 U；碳水化合物系数 10 → 11 g/U。",
            ("zh-hans", "mg/dL"): "指尖血糖低于 70 mg/dL 的天数为 2 天，其中 0 次低于 "
            "54 mg/dL。 1 天的低血糖发生在日间非餐后，提示与餐时胰岛素有关。 "
            "餐时胰岛素减少 10 %：10 U → 9 U；碳水化合物系数 10 → 11 g/U。",
        },
    )


@pytest.mark.parametrize(
    ("action", "en_mg", "en_mmol", "zh_mmol", "zh_mg"),
    [
        (
            {"verb": "stop", "product": "Gliclazide", "from": 80, "to": None, "unit": "mg"},
            "Stop Gliclazide (80 mg): time below 54 mg/dL is over goal.",
            "Stop Gliclazide (80 mg): time below 3.0 mmol/L is over goal.",
            "停用Gliclazide（80 mg）：低于 3.0 mmol/L 的时间超过目标。",
            "停用Gliclazide（80 mg）：低于 54 mg/dL 的时间超过目标。",
        ),
        (
            {"verb": "halve", "product": None, "from": 80, "to": 40, "unit": "mg"},
            "Halve sulfonylurea: 80 mg → 40 mg.",
            "Halve sulfonylurea: 80 mg → 40 mg.",
            "磺脲类药物减半：80 mg → 40 mg。",
            "磺脲类药物减半：80 mg → 40 mg。",
        ),
    ],
)
def test_sulfonylurea_decrease(action, en_mg, en_mmol, zh_mmol, zh_mg):
    params = {
        **CGM_LOWS,
        "step_percent": 20.0,
        "timing": ["daytime"],
        "lows_days": 2,
        "actions": [action],
    }
    finding = {
        "en": (
            "Time below {t} 5.2 % (goal < 4 %), below {v} 1.5 % (goal < 1 %). Lows during "
            "the day, not after a meal on 2 days point to the sulfonylurea. "
        ),
        "zh-hans": (
            "低于 {t} 的时间（TBR）5.2 %（目标 < 4 %），低于 {v} 的时间 1.5 %（目标 "
            "< 1 %）。 2 天的低血糖发生在日间非餐后，提示与磺脲类药物有关。 "
        ),
    }
    mg = {"t": "70 mg/dL", "v": "54 mg/dL"}
    mmol = {"t": "3.9 mmol/L", "v": "3.0 mmol/L"}
    check(
        "hypoglycaemia_first",
        "sulfonylurea_decrease",
        params,
        {
            ("en", "mg/dL"): finding["en"].format(**mg) + en_mg,
            ("en", "mmol/L"): finding["en"].format(**mmol) + en_mmol,
            ("zh-hans", "mmol/L"): finding["zh-hans"].format(**mmol) + zh_mmol,
            ("zh-hans", "mg/dL"): finding["zh-hans"].format(**mg) + zh_mg,
        },
    )


def test_basal_review_for_over_basalisation():
    params = {
        "units_per_kg": 0.6,
        "basal_units_per_day": 48,
        "weight_kg": 80,
        "nights": 10,
        "nights_with_fall": 7,
        "median_fall_mg_dl": 63,
    }
    tail_en = (
        ". Review the basal dose and whether mealtime cover (prandial insulin or a GLP-1 RA) "
        "is needed, rather than raising it."
    )
    tail_zh = (
        "。请复核基础胰岛素剂量，并评估是否需要餐时覆盖（餐时胰岛素或 GLP-1 受体激动剂），"
        "而不是继续增加基础胰岛素。"
    )
    check(
        "over_basalisation",
        "basal_review",
        params,
        {
            ("en", "mg/dL"): "Possible over-basalisation: basal insulin 48 U/day is 0.60 U/kg "
            "(above 0.5 U/kg at 80 kg); glucose fell ≥ 50 mg/dL from bedtime to waking on 7 of "
            "10 nights (median fall 63 mg/dL)" + tail_en,
            ("en", "mmol/L"): "Possible over-basalisation: basal insulin 48 U/day is 0.60 "
            "U/kg (above 0.5 U/kg at 80 kg); glucose fell ≥ 2.8 mmol/L from bedtime to waking "
            "on 7 of 10 nights (median fall 3.5 mmol/L)" + tail_en,
            ("zh-hans", "mmol/L"): "可能存在基础胰岛素过量：基础胰岛素每日 48 U，即 0.60 U/kg"
            "（体重 80 kg，高于 0.5 U/kg）；10 晚中有 7 晚从睡前到醒来血糖下降 ≥ 2.8 mmol/L"
            "（下降中位数 3.5 mmol/L）" + tail_zh,
            ("zh-hans", "mg/dL"): "可能存在基础胰岛素过量：基础胰岛素每日 48 U，即 0.60 U/kg"
            "（体重 80 kg，高于 0.5 U/kg）；10 晚中有 7 晚从睡前到醒来血糖下降 ≥ 50 mg/dL"
            "（下降中位数 63 mg/dL）" + tail_zh,
        },
    )
    # Only the nights signal: weight under the per-kg limit says nothing of it.
    only_nights = {**params, "units_per_kg": 0.4, "basal_units_per_day": 32}
    assert worded("over_basalisation", "basal_review", only_nights, "mmol/L", "en") == (
        "Possible over-basalisation: glucose fell ≥ 2.8 mmol/L from bedtime to waking on 7 "
        "of 10 nights (median fall 3.5 mmol/L)" + tail_en
    )


TITRATION = {
    "algorithm": "treat_to_target",
    "mean_fasting_mg_dl": 180.0,
    "fasting_goal_mg_dl": [80, 130],
    "fasting_days": 2,
    "step_units": 8,
    "blockers": [],
    "product": "Insulin glargine",
    "dose_unit": "U",
    "dose_from": 20,
    "dose_to": 28,
}


def test_basal_increase_and_its_blocked_form():
    check(
        "basal_titration",
        "basal_increase",
        TITRATION,
        {
            ("en", "mg/dL"): "Mean fasting glucose 180 mg/dL over the last 2 days with a "
            "fasting value, above the fasting goal (80–130 mg/dL), no fasting value below "
            "72 mg/dL. Treat-to-Target (Riddle 2003): raise Insulin glargine by 8 U: "
            "20 U → 28 U.",
            ("en", "mmol/L"): "Mean fasting glucose 10.0 mmol/L over the last 2 days with a "
            "fasting value, above the fasting goal (4.4–7.2 mmol/L), no fasting value below "
            "4.0 mmol/L. Treat-to-Target (Riddle 2003): raise Insulin glargine by 8 U: "
            "20 U → 28 U.",
            ("zh-hans", "mmol/L"): "最近 2 个有空腹值的日子平均空腹血糖为 10.0 mmol/L，高于"
            "空腹血糖目标（4.4–7.2 mmol/L），且无空腹值低于 4.0 mmol/L。 Treat-to-Target "
            "达标治疗方案（Riddle 2003）：Insulin glargine增加 8 U：20 U → 28 U。",
            ("zh-hans", "mg/dL"): "最近 2 个有空腹值的日子平均空腹血糖为 180 mg/dL，高于"
            "空腹血糖目标（80–130 mg/dL），且无空腹值低于 72 mg/dL。 Treat-to-Target "
            "达标治疗方案（Riddle 2003）：Insulin glargine增加 8 U：20 U → 28 U。",
        },
    )
    blocked = {
        k: v for k, v in TITRATION.items() if k not in ("step_units", "dose_from", "dose_to")
    }
    blocked.update(
        algorithm="ada_2_units_every_3_days",
        blockers=["hypoglycaemia_first", "over_basalisation"],
    )
    check(
        "basal_titration",
        "basal_increase",
        blocked,
        {
            ("en", "mmol/L"): "Mean fasting glucose 10.0 mmol/L over the last 2 days with a "
            "fasting value, above the fasting goal (4.4–7.2 mmol/L), no fasting value below "
            "4.0 mmol/L. ADA: +2 U every 3 days: no increase is proposed while time below "
            "range is over its goal and over-basalisation is possible.",
            ("zh-hans", "mmol/L"): "最近 2 个有空腹值的日子平均空腹血糖为 10.0 mmol/L，高于"
            "空腹血糖目标（4.4–7.2 mmol/L），且无空腹值低于 4.0 mmol/L。 ADA：每 3 天增加 2 U："
            "低于目标范围时间（TBR）超过目标和可能存在基础胰岛素过量，暂不建议加量。",
            ("zh-hans", "mg/dL"): "最近 2 个有空腹值的日子平均空腹血糖为 180 mg/dL，高于"
            "空腹血糖目标（80–130 mg/dL），且无空腹值低于 72 mg/dL。 ADA：每 3 天增加 2 U："
            "低于目标范围时间（TBR）超过目标和可能存在基础胰岛素过量，暂不建议加量。",
        },
    )


def test_meal_review_with_and_without_mealtime_insulin():
    params = {
        "meal": "breakfast",
        "days_with_rise": 9,
        "days": 14,
        "median_rise_mg_dl": 75,
        "dates": ["2026-03-01"],
        "pattern_code": "breakfast_rise",
        "pattern_text": True,
        "bolus": True,
        "lows_first": True,
    }
    check(
        "post_meal_rise",
        "meal_review",
        params,
        {
            ("en", "mg/dL"): "Rise after breakfast on most days (9 of 14): median rise "
            "75 mg/dL between 06:00 and 10:00. Review the breakfast insulin dose or its "
            "carbohydrate ratio, or the breakfast carbohydrate; the plan carries no per-meal "
            "doses, so no number is proposed. Time below range is over its goal: address the "
            "lows first.",
            ("en", "mmol/L"): "Rise after breakfast on most days (9 of 14): median rise "
            "4.2 mmol/L between 06:00 and 10:00. Review the breakfast insulin dose or its "
            "carbohydrate ratio, or the breakfast carbohydrate; the plan carries no per-meal "
            "doses, so no number is proposed. Time below range is over its goal: address the "
            "lows first.",
            ("zh-hans", "mmol/L"): "多数日子早餐后血糖上升（14 天中 9 天）：06:00–10:00 中位"
            "上升 4.2 mmol/L。 请复核早餐的胰岛素剂量或碳水化合物系数，或早餐的碳水化合物摄入；"
            "计划中没有按餐记录的剂量，因此不建议具体数值。 低于目标范围时间（TBR）超过目标："
            "请先处理低血糖。",
            ("zh-hans", "mg/dL"): "多数日子早餐后血糖上升（14 天中 9 天）：06:00–10:00 中位"
            "上升 75 mg/dL。 请复核早餐的胰岛素剂量或碳水化合物系数，或早餐的碳水化合物摄入；"
            "计划中没有按餐记录的剂量，因此不建议具体数值。 低于目标范围时间（TBR）超过目标："
            "请先处理低血糖。",
        },
    )
    no_bolus = {"meal": "lunch", "pattern_text": False, "bolus": False, "lows_first": False}
    check(
        "post_meal_rise",
        "meal_review",
        no_bolus,
        {
            ("en", "mmol/L"): "Rise after lunch on most days. Review the lunch carbohydrate, "
            "or mealtime cover for it (prandial insulin or a GLP-1 RA); the plan carries no "
            "per-meal doses, so no number is proposed.",
            ("zh-hans", "mmol/L"): "多数日子午餐后血糖升高。 请复核午餐的碳水化合物摄入，或该餐的"
            "餐时覆盖（餐时胰岛素或 GLP-1 受体激动剂）；计划中没有按餐记录的剂量，"
            "因此不建议具体数值。",
        },
    )


def test_no_change_when_every_goal_is_met():
    cgm = {
        "goals": [
            {
                "key": "in_range_percent",
                "label": "TIR",
                "value": 74.04,
                "comparison": ">",
                "target": 70,
            }
        ]
    }
    check(
        "targets_met",
        "no_change",
        cgm,
        {
            ("en", "mg/dL"): "Every goal of the plan is met: Time in range (TIR) 70–180 mg/dL "
            "74.0 % (goal > 70 %). No change proposed.",
            ("en", "mmol/L"): "Every goal of the plan is met: Time in range (TIR) "
            "3.9–10.0 mmol/L 74.0 % (goal > 70 %). No change proposed.",
            ("zh-hans", "mmol/L"): "计划的所有目标均已达到：葡萄糖目标范围内时间 (TIR) "
            "3.9–10.0 mmol/L 74.0 %（目标 > 70 %）。不建议调整。",
            ("zh-hans", "mg/dL"): "计划的所有目标均已达到：葡萄糖目标范围内时间 (TIR) "
            "70–180 mg/dL 74.0 %（目标 > 70 %）。不建议调整。",
        },
    )
    meter = {
        "goals": [
            {"tag": "fasting", "value": 110, "low": 80, "high": 130},
            {"tag": "fasting", "value": 110, "low": None, "high": 130},
        ]
    }
    check(
        "targets_met",
        "no_change",
        meter,
        {
            ("en", "mg/dL"): "Every goal of the plan is met: Fasting mean 110 mg/dL (goal "
            "80–130 mg/dL); Fasting mean 110 mg/dL (goal ≤ 130 mg/dL). No change proposed.",
            ("zh-hans", "mmol/L"): "计划的所有目标均已达到：空腹平均 6.1 mmol/L（目标 "
            "4.4–7.2 mmol/L）；空腹平均 6.1 mmol/L（目标 ≤ 7.2 mmol/L）。不建议调整。",
        },
    )


def test_not_for_pregnancy():
    en = (
        "Pregnancy plan: insulin needs change week by week in pregnancy and doses are set by "
        "the specialist team, so these rules propose no change."
    )
    zh = "妊娠计划：妊娠期胰岛素需要量逐周变化，剂量由专科团队制定，因此这些规则不提出调整建议。"
    for unit in ("mg/dL", "mmol/L"):
        check(
            "not_for_pregnancy",
            "not_for_pregnancy",
            {"lows_over_goal": True},
            {
                ("en", unit): en + " Lows are over the plan's goal: review them with the team.",
                ("zh-hans", unit): zh + " 低血糖超过计划目标：请与团队一起评估。",
            },
        )
        check(
            "not_for_pregnancy",
            "not_for_pregnancy",
            {"lows_over_goal": False},
            {("en", unit): en, ("zh-hans", unit): zh},
        )


OLD_SUMMARY = (
    "Mean fasting glucose 180 mg/dL over the last 2 days with a fasting value, above the "
    "fasting goal (80–130 mg/dL), no fasting value below 72 mg/dL."
)


@pytest.mark.parametrize(
    ("rule", "params"),
    [
        ("basal_titration", {}),  # a row stored before params carried every number
        ("basal_titration", None),
        ("basal_titration", {"algorithm": "treat_to_target", "mean_fasting_mg_dl": 180.0}),
        ("hypoglycaemia_first", {**CGM_LOWS, "step_percent": 10.0, "timing": ["daytime"]}),
        ("some_future_rule", {"x": 1}),
        ("basal_titration", {**TITRATION, "algorithm": "unknown"}),
        ("post_meal_rise", {"meal": "brunch", "pattern_text": False}),
    ],
)
def test_a_row_the_params_cannot_say_keeps_its_english_summary_in_the_readers_unit(rule, params):
    for language in ("en", "zh-hans"):
        assert worded(rule, "basal_increase", params, "mg/dL", language, OLD_SUMMARY) == (
            OLD_SUMMARY
        )
        assert worded(rule, "basal_increase", params, "mmol/L", language, OLD_SUMMARY) == (
            "Mean fasting glucose 10.0 mmol/L over the last 2 days with a fasting value, above "
            "the fasting goal (4.4–7.2 mmol/L), no fasting value below 4.0 mmol/L."
        )
    assert evidence_text(rule, "x", None, "mmol/L") == ""


# --- The rules' own output, worded back, and the page and PDF of a Chinese clinician --------


@pytest.fixture
def t2(patient):
    patient.diabetes_type = "T2"
    patient.save(update_fields=["diabetes_type"])
    return patient


def squash(text: str) -> str:
    return re.sub(r"\s+", " ", text)


@pytest.mark.django_db
def test_the_rules_params_say_their_english_summary_again(t2, alice):
    """What the rules store (their English summary, mg/dL) is what the params re-say."""
    from tests.reports.test_suggestions import fasting_trace, generate, t2_plan

    t2_plan(t2, alice)
    fasting_trace(t2, 180, lows_at_night=50)  # lows block the increase, rule 1 lowers
    report = generate(t2)
    rows = list(report.suggestions.all())
    assert {s.kind for s in rows} >= {"basal_decrease", "basal_increase"}
    for s in rows:
        with translation.override("en"):
            text = evidence_text(s.rule, s.kind, s.evidence, "mg/dL", report.targets)
        assert text == s.evidence["summary"]
        with translation.override("zh-hans"):
            zh = evidence_text(s.rule, s.kind, s.evidence, "mmol/L", report.targets)
        assert "mg/dL" not in zh and text != zh


@pytest.mark.django_db
def test_a_chinese_mmol_clinician_reads_the_evidence_in_chinese_on_the_page_and_pdf(
    client, t2, alice
):
    from tests.reports.test_pdf import text_of
    from tests.reports.test_suggestions import fasting_trace, generate, t2_plan

    alice.language, alice.unit = "zh-hans", "mmol/L"
    alice.save(update_fields=["language", "unit"])
    t2_plan(t2, alice)
    fasting_trace(t2, 180)  # mean fasting 180 mg/dL = 10.0 mmol/L -> +8 U (Riddle 2003)
    report = generate(t2)
    expected = (
        "最近 2 个有空腹值的日子平均空腹血糖为 10.0 mmol/L，高于空腹血糖目标（4.4–7.2 mmol/L），"
        "且无空腹值低于 4.0 mmol/L。 Treat-to-Target 达标治疗方案（Riddle 2003）："
        "Insulin glargine增加 8 U：20 U → 28 U。"
    )
    client.force_login(alice)
    client.cookies["django_language"] = "zh-hans"
    page = client.get(reverse("reports-detail", args=[report.pk]), {"unit": "mmol/L"})
    assert page.status_code == 200
    body = squash(htmllib.unescape(page.content.decode()))
    section = body.split('id="suggestions"')[1].split('class="suggestion-source"')[0]
    assert expected in section
    assert "Mean fasting glucose" not in section and "mg/dL" not in section

    with translation.override("zh-hans"):
        from reports.pdf import report_pdf_bytes

        pdf = squash(text_of(report_pdf_bytes(report, unit="mmol/L")))
    # The PDF wraps lines: compare without the spaces a line break leaves or takes.
    assert expected.replace(" ", "") in pdf.replace(" ", "")
    assert "Mean fasting glucose" not in pdf


def test_every_suggestion_the_rules_tests_make_is_said_again_from_its_params(monkeypatch):
    """Every suggestion the pure rules' own tests produce (all kinds, CGM and meter): its
    params say the stored English summary again word for word (no_change: the goals are
    named by the display layer's labels, 'Time in range (TIR) 70–180 mg/dL', where the
    summary has the plan's), and Chinese without mg/dL."""
    import inspect

    import glycemia.suggestions as sg
    import tests.glycemia.test_suggestions as rules_tests

    made = []
    evaluate = sg.evaluate_rules

    def spy(*args, **kwargs):
        result = evaluate(*args, **kwargs)
        made.extend(result["suggestions"])
        return result

    monkeypatch.setattr(sg, "evaluate_rules", spy)
    for name, test in inspect.getmembers(rules_tests, inspect.isfunction):
        if name.startswith("test_") and not inspect.signature(test).parameters:
            test()
    assert {s["kind"] for s in made} == set(sg.KINDS)
    for s in made:
        with translation.override("en"):
            text = evidence_text(s["rule"], s["kind"], s["evidence"], "mg/dL", TARGETS)
        if s["kind"] == "no_change":
            assert text.startswith("Every goal of the plan is met: ")
            assert text.count(" (goal ") == s["evidence"]["summary"].count(" (goal ")
        else:
            # A stop says its threshold with the unit: the summary's bare "54" would not read
            # in mmol/L.
            said = text.replace("below 54 mg/dL is over goal", "below 54 is over goal")
            assert said == s["evidence"]["summary"], s["kind"]
        with translation.override("zh-hans"):
            zh = evidence_text(s["rule"], s["kind"], s["evidence"], "mmol/L", TARGETS)
        assert "mg/dL" not in zh and zh != text, s["kind"]
