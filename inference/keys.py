"""The keys that keep prompts, answers and end users out of the database.

A prompt or an answer is stored only as HMAC-SHA-256 under the current content key (``INFERENCE_HMAC_KEY_ID`` in
``INFERENCE_HMAC_KEYS``), with that key's id beside it. Rotating means adding a new key, making it current and
keeping the old ones: lookups try every key, so records written under an old key are still found. The end user
is a pseudonym: HMAC-SHA-256 of the id under ``INFERENCE_PSEUDONYM_KEY``, a key of its own, so the same person
gets the same pseudonym across records without the portal holding who it is.

Text is normalised before it is hashed (Unicode NFC, runs of whitespace as one space, no leading or trailing
space), so an answer pasted from an e-mail or a ticket finds its record even if line breaks changed.
"""

import hashlib
import hmac
import unicodedata
from collections.abc import Callable

from django.conf import settings


def normalised(text: str) -> str:
    """NFC, then every run of whitespace as one space, none at either end. ``str.split`` splits on exactly the
    characters ``\\s`` matches in a ``str`` pattern (``str.isspace``), at a fraction of a regular expression's cost,
    and ASCII text is its own NFC: the intake normalises two texts per span."""
    if not text.isascii():
        text = unicodedata.normalize("NFC", text)
    return " ".join(text.split())


def _digest(key: str, text: str) -> str:
    return hmac.new(key.encode(), normalised(text).encode(), hashlib.sha256).hexdigest()


def content_digest(text: str) -> tuple[str, str]:
    """``(key id, hex HMAC)`` of a prompt or an answer under the current key."""
    key_id = settings.INFERENCE_HMAC_KEY_ID
    return key_id, _digest(settings.INFERENCE_HMAC_KEYS[key_id], text)


def content_hasher() -> tuple[str, Callable[[str], bytes]]:
    """``(key id, text -> HMAC bytes)`` under the current key, the key read once: for hashing a whole batch."""
    key_id = settings.INFERENCE_HMAC_KEY_ID
    key = settings.INFERENCE_HMAC_KEYS[key_id].encode()
    one_shot = hmac.digest  # OpenSSL's one-shot HMAC, a third of the cost of an ``hmac.new`` object per text

    def digest(text: str) -> bytes:
        return one_shot(key, normalised(text).encode(), "sha256")

    return key_id, digest


def content_digests(text: str) -> dict[str, str]:
    """The text's HMAC under every key, current and retired: what a lookup searches for."""
    return {key_id: _digest(key, text) for key_id, key in settings.INFERENCE_HMAC_KEYS.items()}


def pseudonym(end_user: str) -> bytes:
    return hmac.digest(settings.INFERENCE_PSEUDONYM_KEY.encode(), end_user.encode(), "sha256")
