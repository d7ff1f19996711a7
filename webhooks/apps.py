from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class WebhooksConfig(AppConfig):
    name = "webhooks"
    verbose_name = _("Webhooks")

    def ready(self) -> None:
        from accounts.roles import register_role_permissions
        from webhooks.roles import ROLE_GRANTS

        register_role_permissions(ROLE_GRANTS)

        from django.db.models.signals import post_save

        from audit.choices import LedgerAction
        from audit.models import LedgerCheckpoint, LedgerEntry
        from webhooks.choices import WebhookEvent
        from webhooks.events import Subject, ledger_entry_to_deliveries, register_webhook_subject

        # Every governed action writes a ledger entry in its own transaction; watching the ledger finds the
        # events without touching a single service, and what a rolled-back transaction wrote is never sent.
        post_save.connect(ledger_entry_to_deliveries, sender=LedgerEntry, dispatch_uid="webhooks.ledger")
        # Each signed checkpoint goes out as it is made, so a rewrite of the ledger's tail contradicts what the
        # receivers hold. It belongs to no use case: every subscription that chose the event is told.
        register_webhook_subject(
            LedgerCheckpoint, Subject(None, on_action={LedgerAction.CHECKPOINT: WebhookEvent.LEDGER_CHECKPOINT})
        )
