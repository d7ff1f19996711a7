"""The session index."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class UserSession(models.Model):
    """Which session keys belong to which person.

    Django's session rows are opaque (the user id sits inside the encoded data), so ending every session of a
    person who is deactivated would mean decoding every session. This index, written at sign-in, makes it one
    indexed lookup instead. It is bookkeeping, not evidence: rows go when the session ends.
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("user"), on_delete=models.CASCADE, related_name="+"
    )
    session_key = models.CharField(_("session key"), max_length=40, unique=True)
    created_at = models.DateTimeField(_("created at (UTC)"), auto_now_add=True)

    class Meta:
        # The name it was created with, before identity and access were an app of their own.
        db_table = "governance_usersession"
        verbose_name = _("user session")
        default_permissions = ()
        indexes = [models.Index(fields=["user"], name="user_session_user_idx")]

    def __str__(self) -> str:
        return f"{self.user_id}: {self.session_key[:8]}…"
