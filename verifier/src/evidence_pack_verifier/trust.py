"""The trusted keys: the portal's published verification keys (``/verification-keys.json``), never a key read from
the pack itself (a forger would ship their own).

Each key is checked against the fingerprint published beside it as it is read, so a list whose keys and fingerprints
disagree is refused as a whole rather than half used.
"""

import base64
import binascii
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes

from evidence_pack_verifier.formats import KEYS_KIND

ED25519_KEY_BYTES = 32


class TrustError(ValueError):
    """The published keys cannot be used: unreadable, not the portal's format, or inconsistent."""


@dataclass(frozen=True)
class LedgerKey:
    """A ledger checkpoint key: Ed25519, named in checkpoint statements by ``key_id``."""

    key_id: str
    public_key: bytes
    sha256_fingerprint: str


@dataclass(frozen=True)
class SigningCertificate:
    """An evidence signing certificate, which packs' document signatures must be made with."""

    certificate: x509.Certificate
    subject: str
    sha256_fingerprint: str


@dataclass(frozen=True)
class Trust:
    ledger_keys: dict[str, LedgerKey]
    certificates: tuple[SigningCertificate, ...]


def _list(document: dict[str, Any], name: str) -> list[dict[str, Any]]:
    value = document.get(name)
    if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
        raise TrustError(f"{name} is not a list of keys")
    return value


def _ledger_key(item: dict[str, Any], where: str) -> LedgerKey:
    try:
        public = base64.b64decode(str(item["public_key"]), validate=True)
    except KeyError:
        raise TrustError(f"{where} has no public_key") from None
    except binascii.Error:
        raise TrustError(f"{where}: public_key is not base64") from None
    if len(public) != ED25519_KEY_BYTES:
        raise TrustError(f"{where}: public_key is not a raw {ED25519_KEY_BYTES}-byte Ed25519 key")
    fingerprint = hashlib.sha256(public).hexdigest()
    if item.get("sha256_fingerprint") != fingerprint:
        raise TrustError(f"{where}: sha256_fingerprint is not the SHA-256 of its public_key")
    if item.get("key_id") != fingerprint[:16]:
        raise TrustError(f"{where}: key_id is not the first 16 hex digits of its fingerprint")
    return LedgerKey(key_id=fingerprint[:16], public_key=public, sha256_fingerprint=fingerprint)


def _certificate(item: dict[str, Any], where: str) -> SigningCertificate:
    try:
        certificate = x509.load_pem_x509_certificate(str(item["certificate_pem"]).encode())
    except KeyError:
        raise TrustError(f"{where} has no certificate_pem") from None
    except ValueError as error:
        raise TrustError(f"{where}: certificate_pem is not a PEM certificate ({error})") from None
    fingerprint = certificate.fingerprint(hashes.SHA256()).hex()
    if item.get("sha256_fingerprint") != fingerprint:
        raise TrustError(f"{where}: sha256_fingerprint is not the SHA-256 of its certificate")
    return SigningCertificate(
        certificate=certificate, subject=certificate.subject.rfc4514_string(), sha256_fingerprint=fingerprint
    )


def parse(document: object) -> Trust:
    """The keys of a published verification keys document (as parsed JSON)."""
    if not isinstance(document, dict) or document.get("kind") != KEYS_KIND:
        raise TrustError(f"not a verification keys document (its kind must be {KEYS_KIND!r})")
    ledger_keys = [
        _ledger_key(item, f"ledger_checkpoint_keys[{n}]")
        for n, item in enumerate(_list(document, "ledger_checkpoint_keys"))
    ]
    certificates = [
        _certificate(item, f"evidence_signing_certificates[{n}]")
        for n, item in enumerate(_list(document, "evidence_signing_certificates"))
    ]
    return Trust(ledger_keys={key.key_id: key for key in ledger_keys}, certificates=tuple(certificates))


def load(path: str | Path) -> Trust:
    """The keys of the published verification keys file at ``path``."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as error:
        raise TrustError(f"cannot read {path}: {error.strerror or error}") from None
    except UnicodeDecodeError:
        raise TrustError(f"{path} is not UTF-8 text") from None
    try:
        document = json.loads(text)
    except ValueError as error:
        raise TrustError(f"{path} is not JSON: {error}") from None
    try:
        return parse(document)
    except TrustError as error:
        raise TrustError(f"{path}: {error}") from None
