import numpy as np
import pytest

from glycemia.units import MG_DL_PER_MMOL_L, band_thresholds, from_mg_dl, to_mg_dl


@pytest.mark.parametrize(
    "mmol,mg",
    [
        (10.0, 180),
        (3.9, 70),
        (3.8, 68),
        (13.9, 250),
        (14.0, 252),
        (2.9, 52),
        (3.0, 54),
        (10.1, 182),
    ],
)
def test_it_rounds_mmol_l_to_whole_mg_dl(mmol, mg):
    assert MG_DL_PER_MMOL_L == 18.01559
    assert to_mg_dl(mmol, "mmol/L") == mg


def test_it_converts_arrays_and_leaves_mg_dl_alone():
    assert to_mg_dl(np.array([10.0, 3.9]), "mmol/L").tolist() == [180.0, 70.0]
    assert to_mg_dl(123, "mg/dL") == 123


def test_it_displays_mmol_l_with_one_decimal():
    assert from_mg_dl(180, "mmol/L") == 10.0 and from_mg_dl(70, "mmol/L") == 3.9
    assert band_thresholds("mmol/L") == {
        "very_low_below": 3.0,
        "low_below": 3.9,
        "high_above": 10.0,
        "very_high_above": 13.9,
    }


def test_it_refuses_unknown_units():
    with pytest.raises(ValueError):
        to_mg_dl(5, "g/L")
