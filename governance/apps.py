from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class GovernanceConfig(AppConfig):
    name = "governance"
    verbose_name = _("Governance")

    def ready(self) -> None:
        from django.db.models.signals import post_migrate

        from governance import checks, queues, role_grants, roles  # noqa: F401 - checks register themselves

        queues.register()
        roles.register_role_permissions(role_grants.ROLE_GRANTS)
        self._register_attachment_rules()
        # Once per migrate or flush (sent with this app as sender); every app's permissions are created first.
        post_migrate.connect(roles.grant_role_permissions, sender=self, dispatch_uid="governance.roles")
        self._connect_session_lifetime()

        self._connect_sign_in_ledger()

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

    def _connect_sign_in_ledger(self) -> None:
        """Failed sign-ins and lockouts become ledger entries (after axes, listed before us, has counted them)."""
        from axes.signals import user_locked_out
        from django.contrib.auth.signals import user_login_failed

        from governance import sign_in

        user_login_failed.connect(sign_in.record_failed_sign_in, dispatch_uid="governance.sign_in.failed")
        user_locked_out.connect(sign_in.record_lockout, dispatch_uid="governance.sign_in.lockout")

    def _connect_session_lifetime(self) -> None:
        from django.contrib.auth import get_user_model
        from django.contrib.auth.signals import user_logged_in, user_logged_out
        from django.db.models.signals import post_save

        from governance import sessions

        user_logged_in.connect(sessions.record_sign_in, dispatch_uid="governance.sessions.sign_in")
        user_logged_out.connect(sessions.record_sign_out, dispatch_uid="governance.sessions.sign_out")
        post_save.connect(
            sessions.end_sessions_of_deactivated,
            sender=get_user_model(),
            dispatch_uid="governance.sessions.deactivated",
        )
