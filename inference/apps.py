from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class InferenceConfig(AppConfig):
    """The runtime side: what deployed models answered, traced to the version that was live."""

    name = "inference"
    verbose_name = _("Inference records")

    def ready(self) -> None:
        from accounts.roles import register_role_permissions
        from inference import checks  # noqa: F401 - registers the system checks
        from inference.roles import ROLE_GRANTS

        register_role_permissions(ROLE_GRANTS)
