"""The request slip: an approved repeat-medication request as a one-page A4 PDF the patient
takes to their prescriber or pharmacy. It is a record of the decision, not a prescription,
and says so: the product sends nothing to pharmacies."""

from __future__ import annotations

import io
from xml.sax.saxutils import escape

from django.conf import settings
from django.utils import timezone, translation
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from consultations.models import MedicationRequest
from reports.pdf import pdf_font

CID_SAFE = str.maketrans({"·": "|", "–": "-", "—": "-", "•": "-"})


def _when(instant, zone) -> str:
    local = timezone.localtime(instant, zone)
    return f"{date_format(local, 'DATE_FORMAT')} {local:%H:%M}"


def slip_pdf(item: MedicationRequest) -> bytes:
    """The slip in the patient's language (English when no Chinese font is available)."""
    patient = item.patient
    font, has_cjk = pdf_font()
    language = patient.language or settings.LANGUAGE_CODE
    if language.startswith("zh") and not has_cjk:
        language = "en"
    with translation.override(language):
        return _build(item, font)


def _build(item: MedicationRequest, font: str) -> bytes:
    patient = item.patient
    med = item.medication
    zone = patient.tzinfo
    base = ParagraphStyle("base", fontName=font, fontSize=10.5, leading=14)
    title = ParagraphStyle("title", parent=base, fontSize=16, leading=20, spaceAfter=6)
    note = ParagraphStyle("note", parent=base, fontSize=9.5, leading=12.5)

    def p(text, style=base):
        text = str(text)
        if font == "STSong-Light":  # no glyphs for a few Western marks: say them in ASCII
            text = text.translate(CID_SAFE)
        return Paragraph(escape(text), style)

    dose = " ".join(str(x) for x in (med.get("dose"), med.get("dose_unit")) if x not in (None, ""))
    rows = [
        [p(_("Patient")), p(f"{patient.name} ({patient.mrn})")],
        [p(_("Medication")), p(med.get("product", ""))],
        [p(_("Dose")), p(" ".join(x for x in (dose, med.get("frequency") or "") if x))],
        [p(_("Quantity")), p(item.quantity)],
        [p(_("Requested")), p(_when(item.created_at, zone))],
        [p(_("Approved by")), p(str(item.decided_by or ""))],
        [p(_("Approved")), p(_when(item.decided_at, zone))],
        [p(_("Care plan version")), p(item.plan_version.number)],
    ]
    if item.decision_note:
        rows.append([p(_("Note")), p(item.decision_note)])
    table = Table(rows, colWidths=[45 * mm, 120 * mm])
    table.setStyle(
        TableStyle(
            [
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("LINEBELOW", (0, 0), (-1, -1), 0.25, "#999999"),
            ]
        )
    )
    story = [
        p(_("Repeat medication: request slip"), title),
        p(patient.care_center.name if patient.care_center else ""),
        Spacer(1, 6 * mm),
        table,
        Spacer(1, 8 * mm),
        p(
            _(
                "This slip records that your endocrinologist approved a repeat of this "
                "medication. It is not a prescription. The Diabetes Center does not send "
                "prescriptions to pharmacies: take this slip to your prescriber or pharmacy."
            ),
            note,
        ),
    ]
    buffer = io.BytesIO()
    SimpleDocTemplate(
        buffer, pagesize=A4, title=_("Request slip"), leftMargin=20 * mm, rightMargin=20 * mm
    ).build(story)
    return buffer.getvalue()
