"""From audit ledger entries to webhook events, and from events to deliveries.

Every governed action already writes a ledger entry in the transaction that makes it (an FSM transition, a
history row, a deployment event). Reading events off those entries keeps the services unaware of webhooks,
and it means an event exists exactly when its evidence does: the deliveries are rows written in that same
transaction (a transactional outbox), and they are handed to Celery only after it commits. A rolled-back
change leaves neither a ledger entry nor a delivery; a commit whose hand-over to the broker fails leaves a
pending delivery that ``webhooks.requeue_overdue`` picks up.
"""

import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from django.apps import apps
from django.db import models, transaction

from audit.canonical import to_jsonable
from audit.choices import LedgerAction
from audit.models import LedgerEntry
from webhooks.choices import WebhookEvent
from webhooks.models import WebhookDelivery, WebhookSubscription

#: The body's schema version, for receivers: bumped only for incompatible changes.
PAYLOAD_VERSION = 1

#: Event ids are UUIDv5 in this namespace of the ledger entry and event, so raising the same event twice for one
#: entry gives the same id, and the constraint "one original delivery per subscription and event" holds.
EVENT_ID_NAMESPACE = uuid.UUID("5b0f7c1e-3d2a-4f8e-9c61-0a7e4d2b9f13")


@dataclass(frozen=True)
class Subject:
    """A kind of record that raises webhook events, as the app that owns it registers it.

    ``use_case_path`` finds the record's use case (None: the record belongs to none, and its events go to every
    subscription that chose them, whatever its use case), ``fields`` are what an event's ``data`` carries. The
    ledger entries that raise an event are declared as data: an FSM transition to a state (``on_transition``), a
    record created with a field at a value (``on_create``), an update setting a field to a value (``on_change``),
    an update whose payload carries a part whose ``kind`` is given (``on_recorded``: that part becomes the event's
    data), or an entry of another action (``on_action``: its whole payload becomes the event's data). ``computed``
    adds values derived from the row's ``fields`` when the event is raised (a ticketing link built from a reference).
    """

    use_case_path: str | None
    fields: tuple[str, ...] = ()
    on_transition: Mapping[str, WebhookEvent] = field(default_factory=dict)
    on_create: Mapping[tuple[str, str], WebhookEvent] = field(default_factory=dict)
    on_change: Mapping[tuple[str, str], WebhookEvent] = field(default_factory=dict)
    on_recorded: Mapping[tuple[str, str], WebhookEvent] = field(default_factory=dict)
    on_action: Mapping[str, WebhookEvent] = field(default_factory=dict)
    computed: Mapping[str, Callable[[dict[str, Any]], Any]] = field(default_factory=dict)


#: model label -> subject, as each app registers its records in ``AppConfig.ready``.
SUBJECTS: dict[str, Subject] = {}


def register_webhook_subject(model: type[models.Model], subject: Subject) -> None:
    """Let ``model``'s ledger entries raise webhook events: called by the app that owns the model."""
    SUBJECTS[model._meta.label_lower] = subject


_WATCHED_ACTIONS = frozenset({LedgerAction.TRANSITION, LedgerAction.CREATE, LedgerAction.UPDATE})


@dataclass(frozen=True)
class Raised:
    event: WebhookEvent
    data: dict[str, Any]


def _transition(payload: dict[str, Any]) -> dict[str, Any]:
    return {"transition": payload.get("transition"), "from": payload.get("source"), "to": payload.get("target")}


def event_of(action: str, object_type: str, payload: dict[str, Any]) -> Raised | None:
    """The webhook event a ledger entry records, if any. Pure: the tests read real entries through it."""
    subject = SUBJECTS.get(object_type)
    if subject is None:
        return None
    if action in subject.on_action:
        return Raised(subject.on_action[action], dict(payload))
    if action == LedgerAction.TRANSITION:
        event = subject.on_transition.get(payload.get("target"))
        return Raised(event, _transition(payload)) if event else None
    if action == LedgerAction.CREATE:
        after = payload.get("after") or {}
        for (name, value), event in subject.on_create.items():
            if after.get(name) == value:
                return Raised(event, {})
        return None
    if action == LedgerAction.UPDATE:
        for (part, kind), event in subject.on_recorded.items():
            recorded = payload.get(part)
            if recorded and recorded.get("kind") == kind:
                return Raised(event, dict(recorded))
        changes = payload.get("changes") or {}
        for (name, value), event in subject.on_change.items():
            if (changes.get(name) or {}).get("after") == value:
                return Raised(event, {})
    return None


def ledger_entry_to_deliveries(
    sender: type, instance: LedgerEntry, created: bool, raw: bool = False, **kw: Any
) -> None:
    """``post_save`` of ``LedgerEntry``: cheap column checks first, the payload only for watched records."""
    if raw or not created or (subject := SUBJECTS.get(instance.object_type)) is None:
        return
    if instance.action not in _WATCHED_ACTIONS and instance.action not in subject.on_action:
        return
    raised = event_of(instance.action, instance.object_type, instance.payload)
    if raised is not None:
        deliveries_for(instance, raised)


def event_id_of(entry: LedgerEntry, event: str) -> uuid.UUID:
    """The event's id, derived from the ledger entry that raised it: the same however often it is raised."""
    return uuid.uuid5(EVENT_ID_NAMESPACE, f"{entry.sequence}:{event}")


def deliveries_for(entry: LedgerEntry, raised: Raised) -> list[WebhookDelivery]:
    """The deliveries of one event, written in the caller's transaction and enqueued once it commits."""
    subscriptions = [
        subscription
        for subscription in WebhookSubscription.objects.filter(active=True).order_by("pk")
        if raised.event.value in subscription.events
    ]
    if not subscriptions:
        return []
    subject = SUBJECTS[entry.object_type]
    use_case_fields = (subject.use_case_path, f"{subject.use_case_path}__slug") if subject.use_case_path else ()
    row = {}
    if use_case_fields or subject.fields:
        model = apps.get_model(entry.object_type)
        row = model._base_manager.filter(pk=entry.object_id).values(*use_case_fields, *subject.fields).first() or {}
    if subject.use_case_path:
        use_case_id = row.get(subject.use_case_path)
        targets = [sub for sub in subscriptions if sub.wants(raised.event.value, use_case_id)]
    else:
        targets = subscriptions
    if not targets:
        return []
    event_id = event_id_of(entry, raised.event.value)
    payload = {
        "version": PAYLOAD_VERSION,
        "id": str(event_id),
        "event": raised.event.value,
        "occurred_at": to_jsonable(entry.recorded_at),
        "actor": entry.actor_name,
        "use_case": row.get(f"{subject.use_case_path}__slug") if subject.use_case_path else None,
        "object": {"type": entry.object_type, "id": entry.object_id, "label": entry.object_label},
        "data": {
            **{field: to_jsonable(row.get(field)) for field in subject.fields},
            **{name: to_jsonable(compute(row)) for name, compute in subject.computed.items()},
            **raised.data,
        },
        # Lets a receiver look the event up in the portal's audit ledger and check it there.
        "ledger": {"sequence": entry.sequence, "entry_hash": entry.entry_hash_hex},
    }
    deliveries = WebhookDelivery.objects.bulk_create(
        [
            WebhookDelivery(
                subscription=subscription,
                event=raised.event.value,
                event_id=event_id,
                ledger_sequence=entry.sequence,
                payload=payload,
                next_attempt_at=entry.recorded_at,
            )
            for subscription in targets
        ]
    )
    for delivery in deliveries:
        enqueue_after_commit(delivery.pk)
    return deliveries


#: Publishing to a broker that is down gives up after two quick retries: the response is not held up, and the
#: delivery stays pending for ``webhooks.requeue_overdue``.
PUBLISH_RETRY_POLICY = {"max_retries": 2, "interval_start": 0, "interval_step": 0.25, "interval_max": 0.5}


def enqueue_after_commit(delivery_id: int) -> None:
    """Hand the delivery to Celery once the transaction commits. ``robust``: a broker that is down must not turn
    a committed approval into an error page; the delivery stays pending and is requeued later.

    Without a broker (``CELERY_TASK_ALWAYS_EAGER``, a local pilot) the first attempt runs here, in the request
    that made the change, and a failed attempt is not retried inline (``webhooks.tasks``): the request waits for
    one POST at most."""
    from webhooks.tasks import deliver_webhook

    def enqueue_webhook_delivery() -> None:
        deliver_webhook.apply_async((delivery_id, 1), retry=True, retry_policy=PUBLISH_RETRY_POLICY)

    transaction.on_commit(enqueue_webhook_delivery, robust=True)
