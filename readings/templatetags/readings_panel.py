"""``{% readings_panel patient glucose_unit as panel %}``: the workspace readings panel's data.

The panel is included by ``patients/detail.html`` for clinical viewers only; this tag gathers
its data (chart, latest upload, Nightscout link) so the patients app need not know about it.
"""

from django import template

from readings.charts import glucose_figure
from readings.services import nightscout_base_url

register = template.Library()


@register.simple_tag
def readings_panel(patient, unit):
    link = getattr(patient, "nightscout_link", None)
    return {
        "figure": glucose_figure(patient, unit or "mg/dL"),
        "uploads": list(patient.uploads.order_by("-created_at", "-pk")[:3]),
        "nightscout": link,
        "nightscout_url": nightscout_base_url(link) if link else "",
        "tokens": list(patient.device_tokens.filter(revoked_at=None).order_by("-created_at")),
    }
