from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class RegistryConfig(AppConfig):
    name = "registry"
    verbose_name = _("Model registry")

    def ready(self) -> None:
        from registry import queues

        queues.register()
