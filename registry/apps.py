from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class RegistryConfig(AppConfig):
    name = "registry"
    verbose_name = _("Model registry")

    def ready(self) -> None:
        from lineage.openlineage.training import register_training_job_handler
        from registry import queues
        from registry.services.openlineage import training_run_record_openlineage

        queues.register()
        register_training_job_handler(training_run_record_openlineage)
