"""The published verification material: every ledger checkpoint key and evidence signing certificate the portal has
ever signed with, recorded on first use (``VerificationKey``) and listed on a page anyone may read
(``/verification-keys/``, and as JSON for tools) and by ``manage.py export_verification_keys``.

An outsider never trusts a key that travels inside what it checks (a forger ships their own): they take these,
compare the fingerprints with what the organisation announces through its own channels, and verify against them.
Rotation adds a key and removes none, so whatever was signed before still verifies.
"""

import base64
import datetime
import hashlib
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from django.db import IntegrityError, transaction
from django.utils import timezone

from audit import signing_keys
from audit.choices import VerificationKeyKind
from audit.models.keys import VerificationKey

DOCUMENT_KIND = "llm-governance-portal/verification-keys/v1"


def _record(fingerprint: str, **fields: Any) -> VerificationKey:
    """The key's record, made on its first use; a concurrent first use keeps the other's."""
    known = VerificationKey.objects.filter(sha256_fingerprint=fingerprint).first()
    if known is not None:
        return known
    try:
        with transaction.atomic():
            return VerificationKey.objects.create(
                sha256_fingerprint=fingerprint, first_used_at=timezone.now(), **fields
            )
    except IntegrityError:
        return VerificationKey.objects.get(sha256_fingerprint=fingerprint)


def record_ledger_key() -> VerificationKey:
    """The ledger checkpoint key in use (called as a checkpoint is signed)."""
    public = signing_keys.public_key_bytes()
    pem = Ed25519PublicKey.from_public_bytes(public).public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return _record(
        hashlib.sha256(public).hexdigest(),
        kind=VerificationKeyKind.LEDGER_CHECKPOINT,
        key_id=signing_keys.key_id(public),
        algorithm="Ed25519",
        material=pem.decode(),
    )


def record_certificate(cert: x509.Certificate) -> VerificationKey:
    """An evidence signing certificate in use (called as a pack is signed)."""
    return _record(
        cert.fingerprint(hashes.SHA256()).hex(),
        kind=VerificationKeyKind.DOCUMENT_SIGNING,
        algorithm=cert.signature_algorithm_oid._name,
        subject=cert.subject.rfc4514_string()[:300],
        material=cert.public_bytes(serialization.Encoding.PEM).decode(),
        valid_from=cert.not_valid_before_utc,
        valid_until=cert.not_valid_after_utc,
    )


def _raw_public_key(row: VerificationKey) -> bytes:
    """A recorded Ed25519 key's 32 raw bytes, as checkpoints are verified with and the published list shows them."""
    public = serialization.load_pem_public_key(row.material.encode())
    return public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def ledger_public_keys() -> dict[str, bytes]:
    """key id -> raw Ed25519 public key, of every ledger checkpoint key ever used and the one configured now."""
    keys = {
        row.key_id: _raw_public_key(row)
        for row in VerificationKey.objects.filter(kind=VerificationKeyKind.LEDGER_CHECKPOINT)
    }
    current = signing_keys.public_key_bytes()
    keys.setdefault(signing_keys.key_id(current), current)
    return keys


def ledger_key_fingerprint(key_id: str) -> str:
    """The full SHA-256 fingerprint of the ledger key ``key_id`` names (empty if it was never recorded)."""
    found = VerificationKey.objects.filter(kind=VerificationKeyKind.LEDGER_CHECKPOINT, key_id=key_id)
    return found.values_list("sha256_fingerprint", flat=True).first() or ""


def _iso(moment: datetime.datetime | None) -> str | None:
    return moment.astimezone(datetime.UTC).isoformat().replace("+00:00", "Z") if moment else None


def published() -> dict[str, Any]:
    """The published list as a document: what a verifier is given with ``--trust``."""
    record_ledger_key()  # the key in use is published before its first checkpoint too
    ledger, certificates = [], []
    for row in VerificationKey.objects.order_by("first_used_at", "pk"):
        entry = {
            "sha256_fingerprint": row.sha256_fingerprint,
            "algorithm": row.algorithm,
            "first_used_at": _iso(row.first_used_at),
        }
        if row.kind == VerificationKeyKind.LEDGER_CHECKPOINT:
            public_key = base64.b64encode(_raw_public_key(row)).decode()
            ledger.append({**entry, "key_id": row.key_id, "public_key": public_key})
        else:
            certificates.append(
                {
                    **entry,
                    "subject": row.subject,
                    "valid_from": _iso(row.valid_from),
                    "valid_until": _iso(row.valid_until),
                    "certificate_pem": row.material,
                }
            )
    return {"kind": DOCUMENT_KIND, "ledger_checkpoint_keys": ledger, "evidence_signing_certificates": certificates}
