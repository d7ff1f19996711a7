"""Managing webhook subscriptions and sending a delivery again: every change checked, locked and in the ledger.

Subscriptions send governance data out of the portal, so managing them is a security decision: the Security
Reviewer role holds it (``accounts.roles``), an administrator does not by being one. The ledger records
each change with the secret's fingerprint, never the secret, and the URL's origin and fingerprint, never the URL.
"""

from collections.abc import Iterable
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import IntegrityError, models, transaction
from django.utils import timezone

from accounts.authz import require
from audit import ledger
from audit.audit_context import acting_as
from audit.choices import LedgerAction
from audit.ledger import ActionDenied, denials_recorded
from webhooks.choices import DeliveryStatus, WebhookEvent
from webhooks.events import enqueue_after_commit
from webhooks.models import WebhookDelivery, WebhookSubscription
from webhooks.signing import encrypt, fingerprint, new_secret
from webhooks.urls_policy import clean_url

MAX_NAME_CHARS = 100


def _clean_name(name: str, *, exclude_pk: int | None = None) -> str:
    name = (name or "").strip()
    if not name:
        raise ValidationError({"name": "Name the receiver."})
    if len(name) > MAX_NAME_CHARS:
        raise ValidationError({"name": f"Keep the name to {MAX_NAME_CHARS} characters."})
    if WebhookSubscription.objects.filter(name=name).exclude(pk=exclude_pk).exists():
        raise ValidationError({"name": f"A subscription named {name!r} exists already."})
    return name


def clean_events(events: Iterable[Any]) -> list[str]:
    """The subscribed events in their declared order, or a ``ValidationError`` naming the unknown ones."""
    if isinstance(events, str | bytes) or not isinstance(events, Iterable):
        raise ValidationError({"events": "Give a list of event names."})
    given = [str(event) for event in events]
    unknown = sorted(set(given) - set(WebhookEvent.values))
    if unknown:
        raise ValidationError(
            {"events": f"Unknown event(s): {', '.join(unknown)}. Choose from: {', '.join(WebhookEvent.values)}."}
        )
    if not given:
        raise ValidationError({"events": "Choose at least one event."})
    return [event for event in WebhookEvent.values if event in given]


def _described(subscription: WebhookSubscription) -> dict[str, Any]:
    return {
        "name": subscription.name,
        # Chat webhooks carry their credential in the URL's path: the ledger keeps where it points and a
        # fingerprint that changes with it, never the URL itself.
        "url": subscription.url_shown,
        "events": list(subscription.events),
        "use_case": subscription.use_case.slug if subscription.use_case_id else None,
        "active": subscription.active,
        "secret_fingerprint": subscription.secret_fingerprint,
    }


def webhook_subscription_create(
    *,
    actor: AbstractBaseUser,
    name: str,
    url: str,
    events: Iterable[str],
    use_case: models.Model | None = None,
    active: bool = True,
) -> tuple[WebhookSubscription, str]:
    """A new subscription and its signing secret, which the caller shows once and the portal never again."""
    with denials_recorded(), transaction.atomic(), acting_as(actor):
        require(actor, "webhooks.add_webhooksubscription", attempted="webhook_subscription_create")
        secret = new_secret()
        subscription = WebhookSubscription(
            name=_clean_name(name),
            url=clean_url(url),
            events=clean_events(events),
            use_case=use_case,
            active=active,
            encrypted_secret=encrypt(secret),
            secret_fingerprint=fingerprint(secret),
            created_by=actor,
        )
        try:
            with transaction.atomic():
                subscription.save()
        except IntegrityError:
            raise ValidationError({"name": f"A subscription named {subscription.name!r} exists already."}) from None
        ledger.append(action=LedgerAction.CREATE, obj=subscription, payload={"after": _described(subscription)})
        return subscription, secret


def _locked(subscription: WebhookSubscription, actor: AbstractBaseUser, attempted: str) -> WebhookSubscription:
    require(actor, "webhooks.change_webhooksubscription", attempted=attempted, obj=subscription)
    return (
        WebhookSubscription.objects.select_for_update(of=("self",)).select_related("use_case").get(pk=subscription.pk)
    )


def webhook_subscription_update(
    *,
    subscription: WebhookSubscription,
    actor: AbstractBaseUser,
    name: str,
    url: str,
    events: Iterable[str],
    use_case: models.Model | None,
    active: bool,
) -> WebhookSubscription:
    """Change what a subscription receives and where; deactivating stops its pending deliveries too."""
    with denials_recorded(), transaction.atomic(), acting_as(actor):
        locked = _locked(subscription, actor, "webhook_subscription_update")
        before = _described(locked)
        locked.name = _clean_name(name, exclude_pk=locked.pk)
        locked.url = clean_url(url)
        locked.events = clean_events(events)
        locked.use_case = use_case
        locked.active = bool(active)
        after = _described(locked)
        changes = {key: {"before": before[key], "after": after[key]} for key in after if before[key] != after[key]}
        if not changes:
            return locked
        locked.updated_at = timezone.now()
        try:
            with transaction.atomic():
                locked.save()
        except IntegrityError:
            raise ValidationError({"name": f"A subscription named {locked.name!r} exists already."}) from None
        ledger.append(action=LedgerAction.UPDATE, obj=locked, payload={"changes": changes})
        return locked


def webhook_subscription_rotate_secret(
    *, subscription: WebhookSubscription, actor: AbstractBaseUser
) -> tuple[WebhookSubscription, str]:
    """A new signing secret (shown once); the old one stops signing at once, pending retries included."""
    with denials_recorded(), transaction.atomic(), acting_as(actor):
        locked = _locked(subscription, actor, "webhook_subscription_rotate_secret")
        secret = new_secret()
        previous = locked.secret_fingerprint
        locked.encrypted_secret, locked.secret_fingerprint = encrypt(secret), fingerprint(secret)
        locked.secret_rotated_at = locked.updated_at = timezone.now()
        locked.save()
        ledger.append(
            action=LedgerAction.UPDATE,
            obj=locked,
            payload={"changes": {"secret_fingerprint": {"before": previous, "after": locked.secret_fingerprint}}},
        )
        return locked, secret


def webhook_delivery_redeliver(*, delivery: WebhookDelivery, actor: AbstractBaseUser) -> WebhookDelivery:
    """Send an event to its subscriber again, as a new delivery with the same event id and body: the log of
    the first one stays as it was, and receivers that de-duplicate on the event id are not confused.

    The original is locked and a redelivery of it still pending refuses another: two people pressing "send again"
    at once make one delivery, not two."""
    attempted = "webhook_delivery_redeliver"
    with denials_recorded(), transaction.atomic(), acting_as(actor):
        require(actor, "webhooks.redeliver_webhookdelivery", attempted=attempted, obj=delivery)
        original = (
            WebhookDelivery.objects.select_for_update(of=("self",)).select_related("subscription").get(pk=delivery.pk)
        )
        if original.status == DeliveryStatus.PENDING:
            raise ActionDenied(
                f"Delivery #{original.pk} is still being attempted; wait for it to be delivered or to fail.",
                actor=actor,
                attempted=attempted,
                obj=original,
            )
        if original.redeliveries.filter(status=DeliveryStatus.PENDING).exists():
            raise ActionDenied(
                f"Delivery #{original.pk} is already being sent again; wait for that delivery to end.",
                actor=actor,
                attempted=attempted,
                obj=original,
            )
        if not original.subscription.active:
            raise ActionDenied(
                f"{original.subscription} is deactivated; activate it before sending anything to it.",
                actor=actor,
                attempted=attempted,
                obj=original,
            )
        again = WebhookDelivery.objects.create(
            subscription=original.subscription,
            event=original.event,
            event_id=original.event_id,
            ledger_sequence=original.ledger_sequence,
            payload=original.payload,
            next_attempt_at=timezone.now(),
            redelivery_of=original,
            requested_by=actor,
        )
        ledger.append(
            action=LedgerAction.CREATE,
            obj=again,
            payload={"redelivery_of": original.pk, "event": again.event, "event_id": str(again.event_id)},
        )
        enqueue_after_commit(again.pk)
        return again
