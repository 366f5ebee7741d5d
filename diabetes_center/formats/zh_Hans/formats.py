"""简体中文: "2026年12月6日", "2026年12月6日 09:00" (see diabetes_center/formats/__init__.py)."""

DATE_FORMAT = SHORT_DATE_FORMAT = "Y年n月j日"
DATETIME_FORMAT = SHORT_DATETIME_FORMAT = "Y年n月j日 H:i"
TIME_FORMAT = "H:i"
MONTH_DAY_FORMAT = "n月j日"
YEAR_MONTH_FORMAT = "Y年n月"
