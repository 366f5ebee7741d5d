"""The report as an A4 PDF: charts (AGP, time in ranges, daily profiles) drawn with reportlab's
own vector graphics (``reports.pdf_charts``) in a reportlab layout. Text follows the active
language; Chinese needs a CJK font:

1. a TrueType-outline CJK font found on the system (reportlab embeds a subset), else
2. reportlab's built-in Adobe CID font ``STSong-Light`` (not embedded: the viewer supplies the
   glyphs, as every PDF reader with CJK support does), else
3. Helvetica, with the text in English.

Noto Sans CJK (Debian's fonts-noto-cjk) has PostScript (CFF) outlines, which reportlab cannot
embed. The charts' text uses the same font as the rest of the page.
"""

from __future__ import annotations

import io
from functools import lru_cache
from pathlib import Path
from xml.sax.saxutils import escape

from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import pgettext
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.platypus import Paragraph as _Paragraph
from reportlab.platypus import SimpleDocTemplate, Spacer, Table, TableStyle

from accounts import display as display_layer
from glycemia import display
from reports import wording
from reports.figures import meal_tag_label
from reports.pdf_charts import agp_drawing, daily_drawing, meter_drawing, tir_drawing

TRUETYPE_CJK_CANDIDATES = (  # TrueType outlines: reportlab can embed these
    ("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc", 0),
    ("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc", 0),
    ("/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf", 0),
    ("/usr/share/fonts/truetype/arphic/uming.ttc", 0),
    ("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc", 2),  # works if ever TrueType
)


@lru_cache(maxsize=1)
def pdf_font() -> tuple[str, bool]:
    """(font name, renders Chinese) registered with reportlab, found once per process."""
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.pdfbase.ttfonts import TTFont

    for path, index in TRUETYPE_CJK_CANDIDATES:
        if Path(path).exists():
            try:
                pdfmetrics.registerFont(TTFont("ReportCJK", path, subfontIndex=index))
                return "ReportCJK", True
            except Exception:  # CFF outlines or a damaged file: try the next
                continue
    try:
        pdfmetrics.registerFont(UnicodeCIDFont("STSong-Light"))
        return "STSong-Light", True
    except Exception:
        return "Helvetica", False


# Adobe's STSong-Light has no glyphs for a few Western punctuation marks; say them in ASCII.
_CID_SAFE = str.maketrans({"·": "|", "–": "-", "—": "-", "•": "-"})


def _text(value: str, font: str) -> str:
    return value.translate(_CID_SAFE) if font == "STSong-Light" else value


def report_pdf_bytes(report, *, unit: str = "mg/dL", for_patient: bool = False) -> bytes:
    """The PDF of `report` in the active language (English when no CJK font is available).

    ``for_patient``: the copy the patient reads carries the care team's message to them and
    never the internal clinical note.
    """
    font, cjk = pdf_font()
    language = translation.get_language() or "en"
    if language.startswith("zh") and not cjk:
        language = "en"
    with translation.override(language):
        return _build(report, unit=unit, font=font, for_patient=for_patient)


def _build(report, *, unit: str, font: str, for_patient: bool = False) -> bytes:
    def Paragraph(text, style, *, markup: bool = False):  # noqa: N802 - shadows reportlab's
        """reportlab's Paragraph, font-safe, with ``text`` escaped: reportlab reads
        Paragraph text as markup (``<img src=…>`` would embed a server file, a stray ``<``
        would fail the whole PDF). Only ``markup=True`` callers, who escape every value
        themselves, pass tags."""
        return _Paragraph(_text(text if markup else escape(text), font), style)

    m, targets = report.metrics, report.targets or {}
    low, high = targets.get("range_low", 70), targets.get("range_high", 180)
    base = ParagraphStyle("base", fontName=font, fontSize=9, leading=12)
    small = ParagraphStyle("small", parent=base, fontSize=8, leading=10, textColor="#57606a")
    h1 = ParagraphStyle("h1", parent=base, fontSize=16, leading=20, spaceAfter=4)
    h2 = ParagraphStyle("h2", parent=base, fontSize=11, leading=14, spaceBefore=8, spaceAfter=3)
    patient = report.patient

    def table(rows, widths, header=True):
        rows = [[_text(c, font) if isinstance(c, str) else c for c in row] for row in rows]
        t = Table(rows, colWidths=[w * mm for w in widths], hAlign="LEFT")
        style = [
            ("FONT", (0, 0), (-1, -1), font, 8),
            ("LINEBELOW", (0, 0), (-1, -1), 0.3, colors.HexColor("#d0d7de")),
            ("VALIGN", (0, 0), (-1, -1), "TOP"),
            ("ALIGN", (1, 0), (-1, -1), "RIGHT"),
        ]
        if header:
            style.append(("TEXTCOLOR", (0, 0), (-1, 0), colors.HexColor("#57606a")))
        t.setStyle(TableStyle(style))
        return t

    kind = _("CGM") if report.is_cgm else _("SMBG")
    story = [
        Paragraph(f"{_('Health report')} · {kind}", h1),
        Paragraph(
            f"<b>{escape(patient.name)}</b> · "
            + escape(
                f"{_('MRN')} {patient.mrn} · "
                f"{patient.get_diabetes_type_display()} · {patient.timezone}"
            ),
            base,
            markup=True,
        ),
        Paragraph(
            f"{_('Period')}: {report.period_start:%Y-%m-%d} – {report.period_end:%Y-%m-%d} "
            f"({report.days} {_('days')}) · {_('Made')} "
            f"{display.local_time(report.created_at, patient.timezone)} "
            f"({wording.zone_text(report)}) · {report.algorithm_version}",
            small,
        ),
    ]
    if report.care_plan_version_number is not None:
        story.append(
            Paragraph(
                f"{_('Care plan')}: {wording.version_label(report.care_plan_version_number)}",
                small,
            )
        )
    for warning in wording.report_warnings(report, unit):
        text = f"<b>{escape(_('Safety warning'))}</b>: {escape(warning)}"
        story.append(Paragraph(text, base, markup=True))
    if report.is_cgm:
        verdict = wording.sufficiency_of(report)
        sufficient = _("sufficient") if verdict["sufficient"] else _("insufficient")
        story.append(
            Paragraph(
                f"{_('Data sufficiency')}: {m.get('days')} {_('days')} · "
                f"{verdict['active_text']} {_('CGM wear (time active)')} · {sufficient}",
                base,
            )
        )
        story.append(Paragraph(verdict["text"], small))
    # Patterns first (as on the page): the reader sees the findings before the event list.
    if report.patterns:
        story.append(Paragraph(_("Patterns"), h2))
        for finding in report.patterns:
            story.append(Paragraph("• " + wording.pattern_text(finding, unit), base))
    if not for_patient:  # the patient never sees suggestions, only the confirmed plan
        story += _suggestions_section(
            report, unit=unit, table=table, h2=h2, base=base, small=small, paragraph=Paragraph
        )
    if report.is_cgm:
        story += _cgm_section(
            report,
            font=font,
            unit=unit,
            low=low,
            high=high,
            table=table,
            h2=h2,
            base=base,
            small=small,
            paragraph=Paragraph,
        )
    else:
        story += _meter_section(
            report,
            font=font,
            unit=unit,
            low=low,
            high=high,
            table=table,
            h2=h2,
            paragraph=Paragraph,
        )
    if report.comparison:
        story.append(Paragraph(_("Compared with the previous report"), h2))
        if verdict := wording.comparison_verdict(report, unit):
            story.append(Paragraph(verdict, base))
        rows = [
            [
                _("Metric"),
                pgettext("report period", "Previous"),
                pgettext("report period", "Now"),
                _("Change"),
            ]
        ]
        for row in wording.comparison_rows(report, unit):
            word = Paragraph(f"{row['arrow']} {row['word']}", small)
            rows.append([row["label"], row["previous"], row["current"], word])
        story.append(table(rows, (70, 30, 30, 52)))
    if report.patient_message:
        story.append(Paragraph(_("Message to the patient"), h2))
        message = escape(report.patient_message).replace("\n", "<br/>")
        story.append(Paragraph(message, base, markup=True))
    if report.clinician_note and not for_patient:
        story.append(Paragraph(_("Internal clinical note (care team only)"), h2))
        note = escape(report.clinician_note).replace("\n", "<br/>")
        story.append(Paragraph(note, base, markup=True))
    buf = io.BytesIO()
    doc = SimpleDocTemplate(
        buf,
        pagesize=A4,
        leftMargin=14 * mm,
        rightMargin=14 * mm,
        topMargin=12 * mm,
        bottomMargin=12 * mm,
        title=f"{_('Health report')} {patient.mrn}",
    )
    doc.build(story)
    return buf.getvalue()


def _suggestions_section(report, *, unit, table, h2, base, small, paragraph) -> list:
    """ "Suggested changes": each with its rule, the evidence (days, summary), the proposed
    change, what blocks it, its state and its source (the same rows as the page)."""
    from care_plans.services import care_plan_version
    from reports.suggestion_wording import suggestion_rows

    # One report: its own order (position, pk), without the default ordering's join to the report.
    suggestions = list(report.suggestions.select_related("decided_by").order_by("position", "pk"))
    if not suggestions:
        return []
    version = care_plan_version(report.care_plan_version_id)
    content = version.content if version is not None else {}
    out = [paragraph(_("Suggested changes"), h2)]
    out.append(
        paragraph(
            _(
                "Proposed by published rules from this report's data. Nothing changes until a "
                "clinician confirms a new plan version; the patient does not see these."
            ),
            small,
        )
    )
    for row in suggestion_rows(report, suggestions, unit, content):
        title = f"<b>{escape(row['kind'])}</b> · {escape(row['rule'])} · {escape(row['state'])}"
        out.append(paragraph(title, base, markup=True))
        out.append(paragraph(row["summary"], base))
        if row["changes"]:
            rows = [[_("Plan field"), pgettext("care plan", "Now"), _("Proposed")]]
            rows += [[c["what"], c["from"], c["to"]] for c in row["changes"]]
            out.append(table(rows, (90, 40, 40)))
        if row["blocked_by"]:
            out.append(
                paragraph(f"{_('Not proposed while:')} {', '.join(row['blocked_by'])}", base)
            )
        if row["days"]:
            out.append(paragraph(f"{_('Evidence')}: {', '.join(row['days'])}", small))
        out.append(paragraph(f"{_('Source')}: {row['source']}", small))
    return out


def _cgm_section(report, *, font, unit, low, high, table, h2, base, small, paragraph) -> list:
    Paragraph = paragraph  # noqa: N806
    m = report.metrics
    rows = [[_("Metric"), _("Value"), _("Goal"), _("Status")]]
    goals = wording.goal_rows(report, unit)
    for goal in goals:
        status = "—" if goal["met"] is None else (_("met") if goal["met"] else _("not met"))
        rows.append([Paragraph(goal["label"], base), goal["value_text"], goal["goal_text"], status])
    shown = wording.metric_texts(report, unit)
    rows += [
        [_("Mean glucose"), shown.get("mean_mg_dl", "—"), "", ""],
        [_("Glucose management indicator (GMI)"), shown.get("gmi_percent", "—"), "", ""],
        [_("Glycemia risk index (GRI)"), f"{shown.get('gri', '—')} ({m.get('gri_zone')})", "", ""],
    ]
    if not any(g["key"] == "cv_percent" for g in goals):  # CV once: as a goal, or here
        rows.append([_("Coefficient of variation (CV)"), shown.get("cv_percent", "—"), "", ""])
    rows.append(
        [
            Paragraph(display_layer.tight_range_label(unit), base),
            shown.get("tight_range_percent", "—"),
            "",
            "",
        ]
    )
    goals_table = table(rows, (64, 18, 18, 22))
    status_col = [
        ("TEXTCOLOR", (3, i + 1), (3, i + 1), colors.HexColor("#2b9348" if g["met"] else "#a4161a"))
        for i, g in enumerate(goals)
        if g["met"] is not None
    ]
    goals_table.setStyle(TableStyle(status_col))
    bands = wording.band_legend(report, unit)
    # Colour swatches are cell backgrounds: no font has to carry a "■" glyph.
    legend = [
        [
            "",
            Paragraph(
                escape(f"{b['label']} {b['range']}")
                + (
                    f"<br/><font size=6>{escape(_('goal'))} {escape(b['goal'])}</font>"
                    if b["goal"]
                    else ""
                ),
                small,
                markup=True,
            ),
            b["percent_text"],
        ]
        for b in bands
    ]
    legend_table = table(legend, (3, 24, 13), header=False)
    legend_table.setStyle(
        TableStyle(
            [
                ("BACKGROUND", (0, i), (0, i), colors.HexColor(b["colour"]))
                for i, b in enumerate(bands)
            ]
        )
    )
    tir = Table(
        [[tir_drawing([b["percent"] for b in reversed(bands)], font=font), legend_table]],
        colWidths=[16 * mm, 42 * mm],
    )
    tir.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "MIDDLE")]))
    top = Table([[goals_table, tir]], colWidths=[124 * mm, 58 * mm], hAlign="LEFT")
    top.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP")]))
    out = [Paragraph(_("Glucose metrics and goals") + " · " + _("Time in ranges"), h2), top]
    out += [
        Paragraph(_("Ambulatory glucose profile (AGP)"), h2),
        Paragraph(
            _("Median (line), 25–75 % and 5–95 % of readings by time of day; target range shaded.")
            + f" ({unit})",
            small,
        ),
        agp_drawing(m, unit=unit, low=low, high=high, font=font),
        Paragraph(_("Daily glucose profiles"), h2),
        daily_drawing(m, unit=unit, low=low, high=high, font=font),
    ]
    events = wording.event_rows(report)
    if events:
        out.append(Paragraph(_("Hypoglycaemia and hyperglycaemia events"), h2))
        out.append(
            Paragraph(
                _("Times are the patient's local time (%(tz)s).")
                % {"tz": wording.zone_text(report)},
                small,
            )
        )
        rows = [[_("Event"), _("Start"), _("Minutes"), _("Nadir / peak")]]
        for e in events[:30]:
            rows.append(
                [
                    e["name"],
                    e["local_start"],
                    e["minutes"],
                    wording.glucose_text(e["extreme_mg_dl"], unit),
                ]
            )
        out.append(table(rows, (60, 45, 25, 30)))
        if len(events) > 30:
            out.append(Paragraph(f"+ {len(events) - 30}", small))
    return out


def _meter_section(report, *, font, unit, low, high, table, h2, paragraph) -> list:
    Paragraph = paragraph  # noqa: N806
    m = report.metrics
    meter = wording.meter_summary(report, unit)
    shown = wording.metric_texts(report, unit)

    def g(x):
        return wording.glucose_text(x, unit)

    per_day = meter["per_day"]
    if meter["schedule"]:
        per_day += " (" + _("plan: %(n)s a day") % {"n": meter["schedule"]} + ")"
    rows = [[_("Readings a day"), per_day]]
    if meter["adherence"] is not None:
        rows.append([_("Days with the planned finger-sticks"), meter["adherence"]])
    rows += [
        [_("Mean glucose"), shown.get("mean_mg_dl", "—")],
        [
            meter["below_label"],
            f"{shown.get('below_70_percent', '—')} ({m['below_70']} / {m['readings']})",
        ],
        [_("Coefficient of variation (CV)"), shown.get("cv_percent", "—")],
        [_("Lowest / highest"), f"{g(m['min_mg_dl'])} / {g(m['max_mg_dl'])}"],
        [_("In target %(range)s") % {"range": meter["range"]}, shown.get("in_target_percent", "—")],
    ]
    tags = [
        [
            _("Averages by meal time, against the plan's targets"),
            _("Readings"),
            _("Mean"),
            _("Target"),
            _("Status"),
        ]
    ]
    for row in meter["goals"]:
        status = "—" if row["met"] is None else (_("met") if row["met"] else _("not met"))
        tags.append(
            [row["label"], str(row["readings"]), row["value_text"], row["target_text"], status]
        )
    return [
        Paragraph(_("Finger-stick glucose (SMBG)"), h2),
        table(rows, (80, 50), header=False),
        Spacer(1, 4 * mm),
        table(tags, (70, 20, 30, 35, 25)),
        Paragraph(_("Readings by time of day"), h2),
        meter_drawing(
            m,
            unit=unit,
            low=low,
            high=high,
            font=font,
            label=lambda tag: _text(meal_tag_label(tag), font),
        ),
    ]
