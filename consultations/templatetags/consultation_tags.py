from django import template

from reports.figures import figures_script

register = template.Library()


@register.simple_tag
def consultation_figure(figure: dict | None, element_id: str):
    """A plotly figure as a JSON script element for ``static/js/figures.js``."""
    return figures_script(figure or {"data": [], "layout": {}}, element_id)


@register.simple_tag(takes_context=True)
def patient_day(context, instant, patient) -> str:
    """The day of ``instant`` as the viewer reads the patient's times (the display layer's
    zone: the patient's own on their pages, the care center's for the care team)."""
    import zoneinfo

    from django.utils.formats import date_format

    from accounts.display import zone_for

    if instant is None:
        return ""
    zone = zoneinfo.ZoneInfo(zone_for(context["user"], patient))
    return date_format(instant.astimezone(zone), "SHORT_DATE_FORMAT")
