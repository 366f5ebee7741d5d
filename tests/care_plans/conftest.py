import datetime as dt

import pytest
from django.apps import apps


@pytest.fixture
def make_report():
    """A report of ``patient`` to link a version to (reports is built by another app)."""

    def make(patient):
        report_model = apps.get_model("reports", "Report")
        return report_model.objects.create(
            patient=patient,
            period_start=dt.date(2024, 1, 1),
            period_end=dt.date(2024, 1, 14),
            kind="cgm",
        )

    return make
