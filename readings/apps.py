from django.apps import AppConfig


class ReadingsConfig(AppConfig):
    name = "readings"

    def ready(self):
        from readings import schema  # noqa: F401  (registers the OpenAPI auth extension)
