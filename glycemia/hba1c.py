"""HbA1c in its two units: NGSP/DCCT percent and IFCC mmol/mol (the master equation).

IFCC and NGSP agreed one linear relation between the two scales (Hoelzel et al., Clin Chem
2004; the "master equation", restated by the IFCC–NGSP harmonisation and used by every
laboratory converter):

    NGSP % = 0.09148 × IFCC mmol/mol + 2.152      ⇔      IFCC mmol/mol = (NGSP % − 2.15) × 10.929

Results are reported as % to one decimal and mmol/mol as a whole number (how laboratories and
the published conversion tables print them: 6.5 % ↔ 48 mmol/mol, 7.0 % ↔ 53, 8.0 % ↔ 64,
9.0 % ↔ 75, 10.0 % ↔ 86). Rounding is half-up, once, at the end.

    >>> mmol_mol_from_percent(7.0), percent_from_mmol_mol(53)
    (53, 7.0)
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

IFCC_PER_NGSP = Decimal("10.929")  # mmol/mol per NGSP % — IFCC/NGSP master equation
NGSP_OFFSET = Decimal("2.15")  # % at which IFCC mmol/mol is zero — same source

PERCENT, MMOL_MOL = "%", "mmol/mol"
UNITS = (PERCENT, MMOL_MOL)

# A result outside these is a typing error, not a measurement (the range assays report).
PERCENT_MIN, PERCENT_MAX = Decimal("3.0"), Decimal("20.0")
MMOL_MOL_MIN, MMOL_MOL_MAX = 9, 195  # 3.0 % and 20.0 % by the master equation


def mmol_mol_from_percent(percent) -> int:
    """NGSP % → IFCC mmol/mol, a whole number.

    >>> mmol_mol_from_percent(6.5), mmol_mol_from_percent("10.0")
    (48, 86)
    """
    value = (Decimal(str(percent)) - NGSP_OFFSET) * IFCC_PER_NGSP
    return int(value.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def percent_from_mmol_mol(mmol_mol) -> float:
    """IFCC mmol/mol → NGSP %, to one decimal.

    >>> percent_from_mmol_mol(48), percent_from_mmol_mol(64)
    (6.5, 8.0)
    """
    value = Decimal(str(mmol_mol)) / IFCC_PER_NGSP + NGSP_OFFSET
    return float(value.quantize(Decimal("0.1"), rounding=ROUND_HALF_UP))


def normalize(value, unit: str) -> tuple[Decimal, int]:
    """(percent to one decimal, mmol/mol) of a result entered in ``unit``; ``ValueError`` for
    an unknown unit or a value outside the plausible range.

    The entered value is kept exactly in its own unit; the other is converted from it.

    >>> normalize(53, "mmol/mol")
    (Decimal('7.0'), 53)
    >>> normalize("7.0", "%")
    (Decimal('7.0'), 53)
    """
    if unit not in UNITS:
        raise ValueError(f"HbA1c unit must be one of {', '.join(UNITS)}.")
    number = Decimal(str(value))
    if not number.is_finite():
        raise ValueError("HbA1c must be a number.")
    if unit == PERCENT:
        if not PERCENT_MIN <= number <= PERCENT_MAX:
            raise ValueError(f"HbA1c must be {PERCENT_MIN}–{PERCENT_MAX} %.")
        percent = number.quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)
        return percent, mmol_mol_from_percent(number)
    if number != number.to_integral_value() or not MMOL_MOL_MIN <= number <= MMOL_MOL_MAX:
        raise ValueError(f"HbA1c must be a whole number {MMOL_MOL_MIN}–{MMOL_MOL_MAX} mmol/mol.")
    return Decimal(str(percent_from_mmol_mol(number))), int(number)
