from django.apps import AppConfig


class WorkspaceConfig(AppConfig):
    """The top floor: the endocrinologist's workspace composes every app below it."""

    name = "workspace"

    def ready(self):
        from workspace import signals  # noqa: F401  (connects the triage receivers)
