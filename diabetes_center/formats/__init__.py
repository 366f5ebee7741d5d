"""One date format per language (settings.FORMAT_MODULE_PATH).

Django's English defaults mix three styles on one page ("12/06/2026", "Nov. 22, 2026" and a
template's own "Tuesday 8 December 2026"); "12/06/2026" also reads as 12 June outside the US.
Here the long and the short names are the same unambiguous format in each language, so a page
says every date one way: "6 Dec 2026" / "2026年12月6日", with the time "6 Dec 2026 09:00" /
"2026年12月6日 09:00" (24-hour, as clinics write it). Templates use the named formats
(``date:"DATE_FORMAT"``) and, for a weekday, ``date:"l"`` beside it.
"""
