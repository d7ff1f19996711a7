from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AccountsConfig(AppConfig):
    """Identity and access: people and their roles, sign-in with a second factor and lockout, sessions, single
    sign-on, re-authentication for electronic signatures. Builds on the trust core only."""

    name = "accounts"
    verbose_name = _("Accounts")

    def ready(self) -> None:
        from django.db.models.signals import post_migrate

        from accounts import checks, roles  # noqa: F401 - checks register themselves

        self._register_role_permissions()
        # Once per migrate or flush (sent with this app as sender); every app's permissions are created first.
        post_migrate.connect(roles.grant_role_permissions, sender=self, dispatch_uid="accounts.roles")
        self._connect_session_lifetime()
        self._connect_sign_in_ledger()

    def _connect_sign_in_ledger(self) -> None:
        """Failed sign-ins and lockouts become ledger entries (after axes, listed before us, has counted them)."""
        from axes.signals import user_locked_out
        from django.contrib.auth.signals import user_login_failed

        from accounts import sign_in

        user_login_failed.connect(sign_in.record_failed_sign_in, dispatch_uid="accounts.sign_in.failed")
        user_locked_out.connect(sign_in.record_lockout, dispatch_uid="accounts.sign_in.lockout")

    def _connect_session_lifetime(self) -> None:
        from django.contrib.auth import get_user_model
        from django.contrib.auth.signals import user_logged_in, user_logged_out
        from django.db.models.signals import post_save

        from accounts import sessions

        user_logged_in.connect(sessions.record_sign_in, dispatch_uid="accounts.sessions.sign_in")
        user_logged_out.connect(sessions.record_sign_out, dispatch_uid="accounts.sessions.sign_out")
        post_save.connect(
            sessions.end_sessions_of_deactivated,
            sender=get_user_model(),
            dispatch_uid="accounts.sessions.deactivated",
        )

    def _register_role_permissions(self) -> None:
        """Risk officers and compliance reviewers approve role grants and removals (requests come from access
        administrators, by a permission of their own) and, as role owners, attest access reviews; auditors read both,
        and every delegation."""
        from accounts.choices import Role
        from accounts.models import AccessReview, Delegation, RoleGrant
        from accounts.roles import VIEW, register_role_permissions

        approve, attest = ("view", "approve"), ("view", "attest")
        register_role_permissions(
            {
                Role.RISK_OFFICER: {RoleGrant: approve, AccessReview: attest},
                Role.COMPLIANCE_REVIEWER: {RoleGrant: approve, AccessReview: attest},
                Role.AUDITOR: {RoleGrant: VIEW, AccessReview: VIEW, Delegation: VIEW},
            }
        )
