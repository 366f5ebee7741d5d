"""Reports listens to the care plan (which may not import reports: floors): a new plan
version that names one of our suggestions as what prompted it accepts that suggestion."""

from django.db.models.signals import post_save
from django.dispatch import receiver

from care_plans.models import CarePlanVersion


@receiver(post_save, sender=CarePlanVersion, dispatch_uid="reports-suggestion-accepted")
def suggestion_accepted(sender, instance: CarePlanVersion, created: bool, **kwargs) -> None:
    if created and instance.prompted_by_type_id is not None:
        from reports.suggestions import suggestion_accept

        suggestion_accept(version=instance)
