"""Governance models. Each module holds one concern; import from here."""

from governance.models.access import AccessEvent
from governance.models.base import GovernedModel, GovernedQuerySet, GovernedWriteRefused
from governance.models.controls import Control, ControlFramework, Policy
from governance.models.documents import Document, DocumentKind
from governance.models.ledger import LedgerCheckpoint, LedgerEntry, LedgerVerification
from governance.models.overrides import BreakGlassOverride
from governance.models.raci import RaciAssignment, RaciMatrix
from governance.models.requirements import BehaviorConstraint, RequirementsDocument
from governance.models.retraining import RetrainingCadence
from governance.models.sessions import UserSession
from governance.models.signatures import Signature
from governance.models.thresholds import ThresholdPolicy, ThresholdRule
from governance.models.tokens import IdempotentRequest, PipelineToken, PipelineTokenScope
from governance.models.usecases import UseCase

__all__ = [
    "AccessEvent",
    "BehaviorConstraint",
    "BreakGlassOverride",
    "Control",
    "ControlFramework",
    "Document",
    "DocumentKind",
    "GovernedModel",
    "GovernedQuerySet",
    "GovernedWriteRefused",
    "IdempotentRequest",
    "LedgerCheckpoint",
    "LedgerEntry",
    "LedgerVerification",
    "PipelineToken",
    "PipelineTokenScope",
    "Policy",
    "RaciAssignment",
    "RaciMatrix",
    "RequirementsDocument",
    "RetrainingCadence",
    "Signature",
    "ThresholdPolicy",
    "ThresholdRule",
    "UseCase",
    "UserSession",
]
