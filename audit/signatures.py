"""Signatures' binding: whether a signature still holds for the record it signed (§11.70 of 21 CFR Part 11).

Signing itself, with its re-authentication of the signer, is a service of identity and access
(``accounts.services.signatures.signature_sign``); the trust core only reads signatures and compares digests.
"""

from django.contrib.contenttypes.models import ContentType
from django.db import models

from audit.canonical import record_digest
from audit.models.signatures import Signature


def signature_is_valid(signature: Signature, record: models.Model | None = None) -> bool:
    """Whether the signed record still is exactly what was signed."""
    record = record if record is not None else signature.record
    if record is None:
        return False
    same_record = (
        ContentType.objects.get_for_model(record).pk == signature.content_type_id
        and str(record.pk) == signature.object_id
    )
    return same_record and record_digest(record) == signature.record_digest


def signatures_for(record: models.Model) -> list[tuple[Signature, bool]]:
    """The record's signatures, newest first, each with whether it still holds."""
    current = record_digest(record)
    content_type = ContentType.objects.get_for_model(record)
    signatures = Signature.objects.filter(content_type=content_type, object_id=str(record.pk)).select_related("signer")
    return [(signature, signature.record_digest == current) for signature in signatures]
