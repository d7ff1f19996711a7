from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class GovernanceConfig(AppConfig):
    name = "governance"
    verbose_name = _("Governance")

    def ready(self) -> None:
        from django_fsm.signals import post_transition
        from simple_history.signals import post_create_historical_record

        from governance import capture, checks, queues  # noqa: F401 - checks register themselves

        queues.register()

        post_create_historical_record.connect(capture.history_to_ledger, dispatch_uid="governance.history")
        post_transition.connect(capture.transition_to_ledger, dispatch_uid="governance.transition")
