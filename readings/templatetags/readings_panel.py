"""``{% readings_panel patient glucose_unit as panel %}``: the workspace readings panel's data;
``{% uploader_apps patient as apps %}``: the Nightscout link and device tokens.

The panel is included by the workspace's Uploads tab for clinical viewers; the uploader apps
by that panel and by the patient's own view. These tags gather their data (chart, latest
uploads, Nightscout link, tokens) so the patients app need not know about it.
"""

from django import template

from readings.charts import glucose_figure
from readings.services import nightscout_base_url

register = template.Library()


@register.simple_tag
def readings_panel(patient, unit):
    return {
        "figure": glucose_figure(patient, unit or "mg/dL"),
        "uploads": list(patient.uploads.order_by("-created_at", "-pk")[:3]),
    }


@register.simple_tag
def uploader_apps(patient):
    """The patient's Nightscout link and device tokens (``readings/_uploader_apps.html``)."""
    link = getattr(patient, "nightscout_link", None)
    return {
        "nightscout": link,
        "nightscout_url": nightscout_base_url(link) if link else "",
        "tokens": list(patient.device_tokens.filter(revoked_at=None).order_by("-created_at")),
    }
