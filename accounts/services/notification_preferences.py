"""Each person chooses which kinds of e-mail notification they receive (all are on until turned off)."""

from collections.abc import Iterable

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction

from accounts.choices import NotificationKind
from accounts.models import NotificationOptOut
from audit import ledger
from audit.audit_context import acting_as
from audit.choices import LedgerAction


def notification_preferences_set(*, user: AbstractBaseUser, enabled: Iterable[str]) -> set[str]:
    """Keep exactly ``enabled`` kinds on for ``user``, the rest off; returns the kinds now off. A person changes
    only their own preferences (the page passes the signed-in user). Ledgered when anything changed."""
    enabled = set(enabled)
    unknown = enabled - set(NotificationKind.values)
    if unknown:
        raise ValidationError({"enabled": f"Unknown kind of notification: {', '.join(sorted(unknown))}."})
    with transaction.atomic(), acting_as(user):
        rows = NotificationOptOut.objects.select_for_update().filter(user=user)
        off_before = set(rows.values_list("kind", flat=True))
        off_after = set(NotificationKind.values) - enabled
        if off_before == off_after:
            return off_after
        rows.filter(kind__in=off_before - off_after).delete()
        for kind in sorted(off_after - off_before):
            NotificationOptOut.objects.get_or_create(user=user, kind=kind)
        ledger.append(
            action=LedgerAction.UPDATE,
            obj=user,
            actor=user,
            payload={"notifications_off": sorted(off_after), "were_off": sorted(off_before)},
        )
        return off_after
