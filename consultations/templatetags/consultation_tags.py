from django import template

from reports.figures import figures_script

register = template.Library()


@register.simple_tag
def consultation_figure(figure: dict | None, element_id: str):
    """A plotly figure as a JSON script element for ``static/js/figures.js``."""
    return figures_script(figure or {"data": [], "layout": {}}, element_id)
