"""One delivery attempt: a signed POST, its outcome recorded, and whether (and when) to try again.

The attempt runs with its delivery row locked (``SKIP LOCKED``: a duplicate task for the same delivery gives
way instead of posting twice at once) and is numbered: a task carries the attempt it is meant to make, so a
message the broker hands out twice finds that attempt already made and does nothing, and a delivered or
failed delivery is never sent again. Should the worker die during the POST, the transaction rolls back and
the broker hands the task back: that attempt is made again, which is why receivers de-duplicate on
``X-Portal-Delivery``.
"""

import time
from dataclasses import dataclass
from datetime import timedelta

import requests
from cryptography.fernet import InvalidToken
from django.db import transaction
from django.utils import timezone

from audit.canonical import canonical_bytes
from webhooks import conf
from webhooks.choices import DeliveryStatus
from webhooks.models import WebhookDelivery
from webhooks.signing import decrypt, signature
from webhooks.urls_policy import HostNotResolved, refused_address, without_url

USER_AGENT = "LLM-Governance-Portal-Webhooks/1"
MAX_ERROR_CHARS = 1000


@dataclass(frozen=True)
class AttemptOutcome:
    status: str | None  # None: nothing was attempted (already done, or another worker holds it)
    retry_in: float | None = None


def body_of(delivery: WebhookDelivery) -> bytes:
    """RFC 8785 canonical JSON: the bytes are the same on every attempt and for every receiver's parser."""
    return canonical_bytes(delivery.payload)


def signed_headers(delivery: WebhookDelivery, secret: str, body: bytes, timestamp: int) -> dict[str, str]:
    return {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "X-Portal-Event": delivery.event,
        "X-Portal-Event-Id": str(delivery.event_id),
        "X-Portal-Delivery": str(delivery.pk),
        "X-Portal-Timestamp": str(timestamp),
        "X-Portal-Signature": signature(secret, timestamp, delivery.event, str(delivery.event_id), body),
    }


@dataclass(frozen=True)
class PostResult:
    status_code: int | None
    error: str = ""
    #: Trying again cannot help (a refused address, an unreadable secret): fail the delivery now.
    permanent: bool = False


def _post(delivery: WebhookDelivery) -> PostResult:
    """One POST. No redirect is followed and no response body is read."""
    try:
        url = delivery.subscription.url
        secret = decrypt(delivery.subscription.encrypted_secret)
    except InvalidToken:
        return PostResult(
            None,
            "not sent: the URL or signing secret cannot be decrypted (SECRET_KEY changed); enter the URL again and "
            "rotate the secret",
            permanent=True,
        )
    try:
        if reason := refused_address(url):
            return PostResult(None, f"refused: {reason}", permanent=True)
    except HostNotResolved as error:
        return PostResult(None, f"not sent: {error}")
    body = body_of(delivery)
    headers = signed_headers(delivery, secret, body, int(time.time()))
    try:
        with requests.post(
            url, data=body, headers=headers, timeout=conf.timeout_seconds(), allow_redirects=False, stream=True
        ) as response:
            code = response.status_code
    except requests.RequestException as error:
        # The message quotes the URL (or its path), which for chat webhooks is the credential: keep it out.
        return PostResult(None, f"{type(error).__name__}: {without_url(str(error), url)}"[:MAX_ERROR_CHARS])
    if 200 <= code < 300:
        return PostResult(code)
    if 300 <= code < 400:
        return PostResult(code, f"HTTP {code}: redirects are not followed; subscribe the final URL.")
    return PostResult(code, f"HTTP {code}")


def webhook_delivery_attempt(*, delivery_id: int, attempt: int) -> AttemptOutcome:
    """Make attempt number ``attempt`` of a delivery, if it is still due, and record what happened."""
    with transaction.atomic():
        delivery = (
            WebhookDelivery.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("subscription")
            .filter(pk=delivery_id)
            .first()
        )
        if delivery is None or delivery.status != DeliveryStatus.PENDING or delivery.attempt_count != attempt - 1:
            return AttemptOutcome(status=None)
        if delivery.subscription.active:
            result = _post(delivery)
        else:
            result = PostResult(None, "not sent: the subscription was deactivated", permanent=True)
        code, error, permanent = result.status_code, result.error, result.permanent
        now = timezone.now()
        delivery.attempt_count = attempt
        delivery.last_attempt_at = now
        delivery.response_status_code = code
        delivery.last_error = error
        retry_in = None
        if not error:
            delivery.status, delivery.delivered_at, delivery.next_attempt_at = DeliveryStatus.DELIVERED, now, None
        elif permanent or attempt >= conf.max_attempts():
            delivery.status, delivery.next_attempt_at = DeliveryStatus.FAILED, None
        else:
            retry_in = conf.backoff_seconds(attempt)
            delivery.next_attempt_at = now + timedelta(seconds=retry_in)
        delivery.save(
            update_fields=[
                "attempt_count",
                "last_attempt_at",
                "response_status_code",
                "last_error",
                "status",
                "delivered_at",
                "next_attempt_at",
            ]
        )
        return AttemptOutcome(status=delivery.status, retry_in=retry_in)
