"""The report PDF: local event times, Patterns before events, CV once, embedded CJK font, and
the internal note kept from the patient's copy."""

import io
import re

import pytest
from django.utils import translation

from reports.pdf import report_pdf_bytes
from reports.services import report_generate
from tests.reports.conftest import PERIOD_END

pytestmark = pytest.mark.django_db


def text_of(content: bytes) -> str:
    from pypdf import PdfReader

    pages = PdfReader(io.BytesIO(content)).pages
    return re.sub(r"\s+", " ", " ".join(page.extract_text() for page in pages))


@pytest.fixture
def report(patient):
    """14 days at 120 mg/dL with a 30-minute low of 50 mg/dL at 03:00 every night."""
    import numpy as np

    from tests.reports.conftest import PERIOD_START, grid, load

    t = grid(PERIOD_START, 14)
    v = np.full(t.size, 120.0)
    slot = np.arange(t.size) % 288
    v[(slot >= 36) & (slot < 42)] = 50.0
    load(patient, t, v)
    return report_generate(patient_id=patient.pk, period_end=PERIOD_END)


def test_it_puts_patterns_before_the_events_and_cv_once(report):
    assert report.patterns and report.metrics["hypo_events"]
    with translation.override("en"):
        text = text_of(report_pdf_bytes(report))
    assert text.index("Patterns") < text.index("Hypoglycaemia and hyperglycaemia events")
    assert text.count("Coefficient of variation (CV)") == 1
    assert "(UTC)" not in text and "local time (UTC, UTC+00:00)" in text


def test_it_embeds_its_cjk_font():
    from reports.pdf import pdf_font

    assert pdf_font() == ("ReportCJK", True)  # scripts/test installs fonts-wqy-microhei


def test_it_embeds_the_font_in_a_chinese_report(report):
    from pypdf import PdfReader

    with translation.override("zh-hans"):
        content = report_pdf_bytes(report)
    fonts = []
    for page in PdfReader(io.BytesIO(content)).pages:
        for font in page["/Resources"]["/Font"].values():
            font = font.get_object()
            for descendant in font.get("/DescendantFonts", [font]):
                descriptor = descendant.get_object().get("/FontDescriptor")
                if descriptor is not None:
                    fonts.append(descriptor.get_object())
    assert any("/FontFile2" in d for d in fonts)  # a TrueType font program inside the PDF
    assert "健康报告" in text_of(content)


def test_it_keeps_the_internal_note_out_of_the_patients_copy(report, alice):
    report.note_set(text="Consider lowering basal", by=alice)
    report.message_set(text="Please eat before exercise", by=alice)
    with translation.override("en"):
        clinician = text_of(report_pdf_bytes(report))
        patient = text_of(report_pdf_bytes(report, for_patient=True))
    assert "Consider lowering basal" in clinician and "Please eat before exercise" in clinician
    assert "Consider lowering basal" not in patient and "Please eat before exercise" in patient
