from django.apps import AppConfig


class ExportsConfig(AppConfig):
    name = "exports"

    def ready(self):
        # Register the exportable lists (their datasets) once the models are loaded.
        from . import customers  # noqa: F401
