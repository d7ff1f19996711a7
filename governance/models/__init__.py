"""Governance models. Each module holds one concern; import from here."""

from governance.models.access import AccessEvent
from governance.models.base import GovernedModel, GovernedQuerySet, GovernedWriteRefused
from governance.models.ledger import LedgerCheckpoint, LedgerEntry, LedgerVerification
from governance.models.overrides import BreakGlassOverride
from governance.models.signatures import Signature

__all__ = [
    "AccessEvent",
    "BreakGlassOverride",
    "GovernedModel",
    "GovernedQuerySet",
    "GovernedWriteRefused",
    "LedgerCheckpoint",
    "LedgerEntry",
    "LedgerVerification",
    "Signature",
]
