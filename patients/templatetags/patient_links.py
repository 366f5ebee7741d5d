"""``{% record_url patient %}``: where a link to a patient's record goes.

The patient themself goes to their own view ("My glucose"), never to the clinician's
workspace; everyone else to the workspace. ``{% record_url patient "nightscout" %}`` goes to
the uploader-app settings (the own view's, or the workspace's Uploads tab).
"""

from django import template
from django.urls import reverse
from django.utils.translation import gettext as _

register = template.Library()


def _own(context, patient) -> bool:
    user = context.get("user")
    return user is not None and patient.user_id is not None and patient.user_id == user.pk


@register.simple_tag(takes_context=True)
def record_url(context, patient, section: str = "") -> str:
    if _own(context, patient):
        url = reverse("my-glucose")
    elif section == "nightscout":
        url = reverse("patients-files", args=[patient.pk])
    else:
        url = reverse("patients-detail", args=[patient.pk])
    return f"{url}#{section}" if section else url


@register.simple_tag(takes_context=True)
def record_name(context, patient) -> str:
    """The words of that link: "My glucose" for the patient, their name for everyone else."""
    return _("My glucose") if _own(context, patient) else patient.name
