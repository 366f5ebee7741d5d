"""Clinical thresholds and coefficients, each with its source.

Everything that a clinician could ask "where does this number come from?" lives here.
"""

# Glucose bands in mg/dL (Battelino et al., Diabetes Care 2019, "Clinical targets for CGM
# data interpretation: recommendations from the International Consensus on Time in Range").
# Exact bounds (DESIGN §5): very low v < 54; low 54 <= v < 70; in range 70 <= v <= 180;
# high 180 < v <= 250; very high v > 250.
VERY_LOW_BELOW = 54.0  # level 2 hypoglycaemia, Battelino 2019
LOW_BELOW = 70.0  # level 1 hypoglycaemia / lower bound of time in range, Battelino 2019
HIGH_ABOVE = 180.0  # upper bound of time in range, Battelino 2019
VERY_HIGH_ABOVE = 250.0  # level 2 hyperglycaemia, Battelino 2019

# Time in tight range 70-140 mg/dL inclusive (Battelino et al., Lancet Diabetes Endocrinol 2023).
TIGHT_LOW = 70.0
TIGHT_HIGH = 140.0

# Glucose Management Indicator (Bergenstal et al., Diabetes Care 2018):
# GMI % = 3.31 + 0.02392 * mean glucose (mg/dL).
GMI_INTERCEPT = 3.31  # Bergenstal 2018
GMI_SLOPE = 0.02392  # Bergenstal 2018, per mg/dL

# Glycemia Risk Index (Klonoff et al., J Diabetes Sci Technol 2023): weights of band percentages.
GRI_WEIGHT_VERY_LOW = 3.0  # Klonoff 2023
GRI_WEIGHT_LOW = 2.4  # Klonoff 2023
GRI_WEIGHT_VERY_HIGH = 1.6  # Klonoff 2023
GRI_WEIGHT_HIGH = 0.8  # Klonoff 2023
GRI_CAP = 100.0  # Klonoff 2023
# Zone upper bounds (inclusive): A 0-20, B >20-40, C >40-60, D >60-80, E >80 (Klonoff 2023).
GRI_ZONES = ((20.0, "A"), (40.0, "B"), (60.0, "C"), (80.0, "D"))
GRI_ZONE_TOP = "E"

# Kovatchev symmetrised risk function (Kovatchev et al., Diabetes Care 1997; 2006):
# f(g) = 1.509 * (ln(g)^1.084 - 5.381), risk = 10 * f^2 = 22.77 * (ln(g)^1.084 - 5.381)^2.
# 22.77 (= 10 * 1.509^2 rounded) is the constant R iglu uses; we follow iglu so the values
# reproduce its reference output exactly.
KOVATCHEV_EXPONENT = 1.084  # Kovatchev 1997
KOVATCHEV_SHIFT = 5.381  # Kovatchev 1997
KOVATCHEV_SCALE = 22.77  # 10 * 1.509^2, as in iglu (Kovatchev 2006)

# Data sufficiency (Battelino 2019): at least 14 days with at least 70 % of possible CGM data.
SUFFICIENT_DAYS = 14  # Battelino 2019
SUFFICIENT_ACTIVE_PERCENT = 70.0  # Battelino 2019

# Hypo/hyperglycaemia events (Battelino 2019 consensus; Battelino et al. 2023 update).
EVENT_MIN_MINUTES = 15  # an event needs >= 15 consecutive minutes beyond the threshold
EVENT_END_MINUTES = 15  # ... and ends after >= 15 consecutive minutes back (2019 consensus)
PROLONGED_HYPO_MINUTES = 120  # prolonged/extended hypoglycaemia: >= 120 min < 54 (2023)
EXTENDED_HYPER_MINUTES = 120  # extended hyperglycaemia: > 250 for >= 120 min (2023)

# MAGE, iglu "ma" algorithm (Fernandes et al., J Diabetes Sci Technol 2022).
MAGE_SHORT_MA = 5  # points on the 5-minute grid
MAGE_LONG_MA = 32  # points on the 5-minute grid
MAGE_GRID_MINUTES = 5  # iglu always interpolates MAGE onto a 5-minute grid
MAGE_INTER_GAP_MINUTES = 45  # iglu: no linear interpolation across gaps longer than this
MAGE_MAX_GAP_MINUTES = 180  # iglu: a trace is split into segments at gaps longer than this

# "Mean close to the GMI 7 % goal" is better when comparing periods: mean at GMI 7 %.
MEAN_GOAL_MG_DL = (7.0 - GMI_INTERCEPT) / GMI_SLOPE  # ~154 mg/dL, from Bergenstal 2018

# Night for the day/night split: 00:00-06:00 local (Battelino 2019 reports "overnight" so).
NIGHT_START_HOUR = 0
NIGHT_END_HOUR = 6

# Device intervals we recognise (minutes): 1 (Libre 3 / some uploaders), 5 (Dexcom, Medtronic),
# 15 (Libre historic).
DEVICE_INTERVALS = (1, 5, 15)
