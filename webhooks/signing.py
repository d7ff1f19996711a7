"""Signing secrets: made here, kept encrypted, and used to sign every delivery.

A subscription's secret must be readable again to sign each POST, so it cannot be hashed. It is encrypted with
Fernet (AES-128-CBC with HMAC-SHA256, from ``cryptography``) under a key derived from ``SECRET_KEY`` with
HKDF; keys derived from ``SECRET_KEY_FALLBACKS`` still decrypt, so rotating ``SECRET_KEY`` keeps subscriptions
working (rotate their secrets before removing the fallback). The secret is shown to a person exactly once.
"""

import base64
import hashlib
import hmac
import secrets

from cryptography.fernet import Fernet, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings

SECRET_PREFIX = "whsec_"  # noqa: S105 - a label, not a secret
#: Receivers may hold secrets of any length; ours carry 256 random bits.
SECRET_BYTES = 32
_HKDF_INFO = b"portal webhooks signing-secret encryption"


def new_secret() -> str:
    return SECRET_PREFIX + secrets.token_urlsafe(SECRET_BYTES)


def fingerprint(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()[:16]


def _fernet(key_material: str) -> Fernet:
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_HKDF_INFO).derive(key_material.encode())
    return Fernet(base64.urlsafe_b64encode(key))


def _keys() -> MultiFernet:
    return MultiFernet(
        [_fernet(settings.SECRET_KEY), *(_fernet(key) for key in getattr(settings, "SECRET_KEY_FALLBACKS", []))]
    )


def encrypt(secret: str) -> str:
    return _keys().encrypt(secret.encode()).decode("ascii")


def decrypt(token: str) -> str:
    return _keys().decrypt(token.encode("ascii")).decode()


def signed_message(timestamp: int, event: str, event_id: str, body: bytes) -> bytes:
    """``"<timestamp>.<event>.<event id>." + body``: what the signature covers.

    The timestamp lets a receiver refuse replays of an old delivery; the event name and id are signed because
    receivers dispatch on ``X-Portal-Event`` and de-duplicate on ``X-Portal-Event-Id`` before they parse the body,
    so an unsigned header could make them drop or misroute a genuine delivery."""
    return f"{timestamp}.{event}.{event_id}.".encode() + body


def signature(secret: str, timestamp: int, event: str, event_id: str, body: bytes) -> str:
    """``sha256=`` and the hex HMAC-SHA256 of ``signed_message``: the ``X-Portal-Signature`` header."""
    mac = hmac.new(secret.encode(), signed_message(timestamp, event, event_id, body), hashlib.sha256)
    return f"sha256={mac.hexdigest()}"


def verify(secret: str, timestamp: int, event: str, event_id: str, body: bytes, header: str) -> bool:
    """What a receiver does (and what the tests' receiver does): constant-time comparison."""
    return hmac.compare_digest(signature(secret, timestamp, event, event_id, body), header)
