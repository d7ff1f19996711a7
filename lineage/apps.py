from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class LineageConfig(AppConfig):
    name = "lineage"
    verbose_name = _("Dataset lineage")

    def ready(self) -> None:
        from lineage import queues

        queues.register()
