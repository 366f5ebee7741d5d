from django.apps import AppConfig


class ReadingsConfig(AppConfig):
    name = "readings"

    def ready(self):
        from django.db.models.signals import post_save, pre_save

        from patients.models import Patient
        from readings import (
            schema,  # noqa: F401  (registers the OpenAPI auth extension)
            signals,  # noqa: F401  (connects the consent receiver)
        )
        from readings.services import patient_zone_changed, patient_zone_remember

        # A patient's local days move with their time zone: whichever page, API or admin
        # changed it, their rollups are rebuilt (DESIGN §3, issue #11 item 9).
        pre_save.connect(patient_zone_remember, sender=Patient, dispatch_uid="readings-zone-pre")
        post_save.connect(patient_zone_changed, sender=Patient, dispatch_uid="readings-zone-post")
