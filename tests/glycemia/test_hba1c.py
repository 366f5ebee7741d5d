"""HbA1c units against the published NGSP/IFCC conversion table (ngsp.org, "Conversion
between NGSP and IFCC"), never against the module's own output."""

from decimal import Decimal

import pytest

from glycemia import hba1c

# NGSP % → IFCC mmol/mol, as printed in the NGSP/IFCC conversion table.
PUBLISHED = [
    (5.0, 31),
    (5.5, 37),
    (6.0, 42),
    (6.5, 48),
    (7.0, 53),
    (7.5, 58),
    (8.0, 64),
    (9.0, 75),
    (10.0, 86),
    (11.0, 97),
    (12.0, 108),
]


@pytest.mark.parametrize(("percent", "mmol_mol"), PUBLISHED)
def test_it_converts_percent_to_mmol_mol_as_the_table_does(percent, mmol_mol):
    assert hba1c.mmol_mol_from_percent(percent) == mmol_mol


@pytest.mark.parametrize(("percent", "mmol_mol"), PUBLISHED)
def test_it_converts_mmol_mol_to_percent_as_the_table_does(percent, mmol_mol):
    assert hba1c.percent_from_mmol_mol(mmol_mol) == percent


def test_it_normalizes_both_units_to_the_same_pair():
    assert hba1c.normalize(53, "mmol/mol") == (Decimal("7.0"), 53)
    assert hba1c.normalize("7.0", "%") == (Decimal("7.0"), 53)
    assert hba1c.normalize(48, "mmol/mol") == (Decimal("6.5"), 48)


@pytest.mark.parametrize(
    ("value", "unit"),
    [
        (2.9, "%"),
        (20.1, "%"),
        (8, "mmol/mol"),
        (196, "mmol/mol"),
        (53.5, "mmol/mol"),
        (7, "mg/dL"),
        ("NaN", "%"),
        ("Infinity", "mmol/mol"),
        (10**400, "mmol/mol"),
    ],
)
def test_it_refuses_implausible_values_and_unknown_units(value, unit):
    with pytest.raises(ValueError):
        hba1c.normalize(value, unit)
