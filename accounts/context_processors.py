def preferences(request):
    """The display unit for glucose: the user's choice, overridable per page with ?unit=."""
    user = getattr(request, "user", None)
    unit = getattr(user, "unit", "mg/dL") if user is not None and user.is_authenticated else "mg/dL"
    requested = request.GET.get("unit")
    if requested in ("mg/dL", "mmol/L"):
        unit = requested
    return {"glucose_unit": unit}
