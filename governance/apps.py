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
        self._connect_session_lifetime()

        post_create_historical_record.connect(capture.history_to_ledger, dispatch_uid="governance.history")
        post_transition.connect(capture.transition_to_ledger, dispatch_uid="governance.transition")
        self._connect_sign_in_ledger()

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
