from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class GovernanceConfig(AppConfig):
    name = "governance"
    verbose_name = _("Governance")

    def ready(self) -> None:
        from accounts.roles import register_role_permissions
        from governance import checks, queues, role_grants  # noqa: F401 - checks register themselves

        queues.register()

        from governance import landing_panels

        landing_panels.register()
        register_role_permissions(role_grants.ROLE_GRANTS)
        self._register_attachment_rules()

    def _register_attachment_rules(self) -> None:
        from governance.models import DocumentKind, RequirementsDocument, UseCase
        from governance.services.documents import AttachmentRule, register_attachment_rule

        use_case_documents = AttachmentRule(
            "governance.attach_usecase_document",
            (DocumentKind.REQUIREMENT, DocumentKind.DPIA, DocumentKind.OTHER),
            "Product Owners and Compliance Reviewers",
        )
        register_attachment_rule(UseCase, use_case_documents)
        register_attachment_rule(RequirementsDocument, use_case_documents)
