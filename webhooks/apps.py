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

        from audit.models import LedgerEntry
        from webhooks.events import ledger_entry_to_deliveries

        # Every governed action writes a ledger entry in its own transaction; watching the ledger finds the
        # events without touching a single service, and what a rolled-back transaction wrote is never sent.
        post_save.connect(ledger_entry_to_deliveries, sender=LedgerEntry, dispatch_uid="webhooks.ledger")
