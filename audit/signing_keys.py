"""The Ed25519 key that signs ledger checkpoints.

``LEDGER_SIGNING_KEY`` holds the private key, as PEM (PKCS#8) or as the base64 of its 32-byte seed;
``LEDGER_SIGNING_KEY_FILE`` names a file holding the same instead. ``make run`` writes a development key
under ``var/``. Production keeps the key in a secret store; an auditor verifies with the public key alone.
"""

import base64
import binascii
import hashlib
from functools import cache
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured


def generate_private_key_pem() -> str:
    key = Ed25519PrivateKey.generate()
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


def parse_private_key(text: str) -> Ed25519PrivateKey:
    text = text.strip()
    if text.startswith("-----BEGIN"):
        key = serialization.load_pem_private_key(text.encode(), password=None)
        if not isinstance(key, Ed25519PrivateKey):
            raise ImproperlyConfigured("LEDGER_SIGNING_KEY is a PEM key, but not an Ed25519 one.")
        return key
    try:
        seed = base64.b64decode(text, validate=True)
    except binascii.Error:
        raise ImproperlyConfigured("LEDGER_SIGNING_KEY is neither PEM nor base64.") from None
    if len(seed) != 32:
        raise ImproperlyConfigured("LEDGER_SIGNING_KEY as base64 must decode to a 32-byte Ed25519 seed.")
    return Ed25519PrivateKey.from_private_bytes(seed)


def configured_key_text() -> str:
    if settings.LEDGER_SIGNING_KEY:
        return settings.LEDGER_SIGNING_KEY
    path = Path(settings.LEDGER_SIGNING_KEY_FILE) if settings.LEDGER_SIGNING_KEY_FILE else None
    if path is not None and path.is_file():
        return path.read_text()
    return ""


@cache
def private_key() -> Ed25519PrivateKey:
    text = configured_key_text()
    if not text:
        raise ImproperlyConfigured(
            "No ledger signing key: set LEDGER_SIGNING_KEY (or LEDGER_SIGNING_KEY_FILE); "
            "`manage.py create_ledger_key` makes one."
        )
    return parse_private_key(text)


def public_key_bytes(key: Ed25519PrivateKey | None = None) -> bytes:
    return (key or private_key()).public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def key_id(public: bytes | None = None) -> str:
    """A short, stable name for a public key: the first 16 hex digits of its SHA-256."""
    return hashlib.sha256(public if public is not None else public_key_bytes()).hexdigest()[:16]


def sign(message: bytes) -> bytes:
    return private_key().sign(message)


def verify(message: bytes, signature: bytes, public: bytes | None = None) -> bool:
    try:
        Ed25519PublicKey.from_public_bytes(public if public is not None else public_key_bytes()).verify(
            signature, message
        )
    except (InvalidSignature, ValueError):
        return False
    return True
