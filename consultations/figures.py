"""The consultation figures of the population view (issue #24 §4), pure: questions per week,
median and 90th-percentile time to first answer (in the center's business hours, the clock
the service level runs on), and the share answered within the service level.

Percentiles are numpy's default (linear interpolation, R type 7), as the glycemic metrics'.
A question still unanswered counts against the service level once its time is up, and is left
out of the share while it is not.

>>> summarize([2.0, 4.0, None], [True, False, None], weeks=2)["within_percent"]
50.0
"""

from __future__ import annotations

import numpy as np


def summarize(answer_hours: list[float | None], within: list[bool | None], *, weeks: int) -> dict:
    """``answer_hours``: business hours to the first answer per question (None: unanswered);
    ``within``: answered within the service level (True/False), or None while still in time."""
    answered = np.array([h for h in answer_hours if h is not None], dtype=float)
    judged = [w for w in within if w is not None]
    return {
        "questions": len(answer_hours),
        "per_week": len(answer_hours) / weeks if weeks else None,
        "answered": int(answered.size),
        "median_hours": float(np.percentile(answered, 50)) if answered.size else None,
        "p90_hours": float(np.percentile(answered, 90)) if answered.size else None,
        "within_percent": 100.0 * sum(judged) / len(judged) if judged else None,
    }
