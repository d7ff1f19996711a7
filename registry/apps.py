from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class RegistryConfig(AppConfig):
    name = "registry"
    verbose_name = _("Model registry")

    def ready(self) -> None:
        from lineage.openlineage.training import register_training_job_handler
        from registry import queues
        from registry.openlineage_training import training_job_handle

        queues.register()
        register_training_job_handler(training_job_handle)
