"""Template tags of the display layer (``accounts/display.py``).

``{% visit_when visit.start_at patient %}`` (optionally ``center=visit.center``): the time in
the zone the signed-in viewer reads visits in, the zone named when it is not theirs.
"""

from django import template

from accounts import display

register = template.Library()


@register.simple_tag(takes_context=True)
def visit_when(context, instant, patient, center=None) -> str:
    return display.visit_when(instant, user=context["user"], patient=patient, center=center)


@register.simple_tag(takes_context=True)
def visit_zone(context, patient, center=None) -> str:
    """The zone name the visits of ``patient`` are shown in to the viewer."""
    return display.zone_for(context["user"], patient, center)


@register.simple_tag(takes_context=True)
def patient_when(context, instant, patient) -> str:
    """Any instant of ``patient`` (an alert, a notification) as the viewer reads the patient's
    times: the care center's zone for clinicians, the patient's own on their pages."""
    return display.visit_when(instant, user=context["user"], patient=patient)


@register.simple_tag
def center_when(instant, center) -> str:
    """An instant of a care center's own (an on-call shift) on the center's wall clocks (the
    page names the zone once)."""
    return display.when_text(instant, center.timezone)
