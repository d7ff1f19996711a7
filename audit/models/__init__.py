"""The trust core's models: the ledger and its checkpoints, signatures, reads of evidence, and the governed base."""

from audit.models.access import AccessEvent
from audit.models.base import GovernedModel, GovernedQuerySet, GovernedWriteRefused
from audit.models.keys import VerificationKey
from audit.models.ledger import (
    LedgerCheckpoint,
    LedgerEntry,
    LedgerHeadsTile,
    LedgerObjectHead,
    LedgerStateDifference,
    LedgerTreeTile,
    LedgerVerification,
)
from audit.models.signatures import Signature

__all__ = [
    "AccessEvent",
    "GovernedModel",
    "GovernedQuerySet",
    "GovernedWriteRefused",
    "LedgerCheckpoint",
    "LedgerEntry",
    "LedgerHeadsTile",
    "LedgerObjectHead",
    "LedgerStateDifference",
    "LedgerTreeTile",
    "LedgerVerification",
    "Signature",
    "VerificationKey",
]
