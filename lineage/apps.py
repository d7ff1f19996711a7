from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class LineageConfig(AppConfig):
    name = "lineage"
    verbose_name = _("Dataset lineage")

    def ready(self) -> None:
        from accounts.roles import register_role_permissions
        from lineage.roles import ROLE_GRANTS

        register_role_permissions(ROLE_GRANTS)
        self._register_attachment_rules()
        self._register_webhook_events()

        from lineage import queues

        queues.register()

        from lineage import landing

        landing.register()

    def _register_attachment_rules(self) -> None:
        from governance.models import DocumentKind
        from governance.services.documents import AttachmentRule, register_attachment_rule
        from lineage.models import DatasetVersion

        register_attachment_rule(
            DatasetVersion,
            AttachmentRule(
                "governance.attach_dataset_document",
                (DocumentKind.DPIA, DocumentKind.OTHER),
                "Data Stewards and Legal and Security Reviewers",
            ),
        )

    def _register_webhook_events(self) -> None:
        from lineage.choices import DatasetVersionState
        from lineage.models import DatasetVersion
        from webhooks.choices import WebhookEvent
        from webhooks.events import Subject, register_webhook_subject

        register_webhook_subject(
            DatasetVersion,
            Subject(
                "dataset__use_case",
                on_transition={
                    DatasetVersionState.APPROVED: WebhookEvent.DATASET_APPROVED,
                    DatasetVersionState.REJECTED: WebhookEvent.DATASET_REJECTED,
                    DatasetVersionState.REVOKED: WebhookEvent.DATASET_REVOKED,
                },
            ),
        )
