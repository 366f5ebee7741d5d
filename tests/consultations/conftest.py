import datetime as dt

import numpy as np
import pytest
import time_machine

from care_plans.services import care_plan_default_content, care_plan_revise
from tests.reports.conftest import grid, known_day_values, load

# Saturday 14 March 2026, noon UTC (London is on GMT until the 29th).
NOW = dt.datetime(2026, 3, 14, 12, tzinfo=dt.UTC)


@pytest.fixture
def clock():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@pytest.fixture
def with_data(patient, alice, clock):
    """13 days of the known day (TIR 60.07 %, mean 140.625 mg/dL) and a plan with insulin."""
    values = np.tile(known_day_values(), 13)
    load(patient, grid(dt.date(2026, 3, 1), 13), values)
    content = care_plan_default_content(patient=patient)
    content["medications"] = [
        {
            "kind": "insulin_basal",
            "product": "Insulin glargine",
            "dose": 18,
            "dose_unit": "U",
            "frequency": "once daily",
        }
    ]
    care_plan_revise(patient=patient, by=alice, reason="start", content=content)
    return patient
