from glycemia import constants as c

# The consensus glucose bands (mg/dL) for templates: ``{{ bands.low|glucose:glucose_unit }}``,
# so no template writes a threshold of its own (Battelino 2019; glycemia/constants.py).
BANDS = {
    "very_low": int(c.VERY_LOW_BELOW),
    "low": int(c.LOW_BELOW),
    "high": int(c.HIGH_ABOVE),
    "very_high": int(c.VERY_HIGH_ABOVE),
}


def preferences(request):
    """The display unit for glucose (the user's choice, overridable per page with ?unit=) and
    the consensus bands."""
    user = getattr(request, "user", None)
    unit = getattr(user, "unit", "mg/dL") if user is not None and user.is_authenticated else "mg/dL"
    requested = request.GET.get("unit")
    if requested in ("mg/dL", "mmol/L"):
        unit = requested
    return {"glucose_unit": unit, "bands": BANDS}
