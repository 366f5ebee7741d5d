from django.utils.functional import SimpleLazyObject

from outbox.health import alerting_degraded


def pipeline(request):
    """``alerting_degraded``: whether a degraded-alerting incident is open (the banner of
    ``templates/base.html`` and of the alert inbox). Lazy: the one query runs only on a page
    that asks (the base template asks for clinicians and admins)."""
    return {"alerting_degraded": SimpleLazyObject(alerting_degraded)}
