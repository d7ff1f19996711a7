from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AuditConfig(AppConfig):
    """The trust core: the audit ledger and its capture, canonical JSON, Merkle trees, signed checkpoints,
    verification, append-only tables, the governed model base and signatures' binding. It imports no other app
    of the portal; every other app builds on it."""

    name = "audit"
    verbose_name = _("Audit")

    def ready(self) -> None:
        from django_fsm.signals import post_transition
        from simple_history.signals import post_create_historical_record

        from audit import capture, checks  # noqa: F401 - checks register themselves

        # Every governed change becomes a ledger entry in the transaction that makes it.
        post_create_historical_record.connect(capture.history_to_ledger, dispatch_uid="governance.history")
        post_transition.connect(capture.transition_to_ledger, dispatch_uid="governance.transition")
