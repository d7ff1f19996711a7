"""Governance models: use cases, requirements, policies and controls, RACI, thresholds, retraining, documents,
break-glass overrides and pipeline tokens. Each module holds one concern; import from here."""

from governance.models.controls import Control, ControlFramework, Policy
from governance.models.documents import Document, DocumentKind
from governance.models.overrides import BreakGlassOverride
from governance.models.raci import RaciAssignment, RaciMatrix
from governance.models.requirements import BehaviorConstraint, RequirementsDocument
from governance.models.retraining import RetrainingCadence
from governance.models.thresholds import ThresholdPolicy, ThresholdRule
from governance.models.tokens import IdempotentRequest, PipelineToken, PipelineTokenScope
from governance.models.usecases import UseCase

__all__ = [
    "BehaviorConstraint",
    "BreakGlassOverride",
    "Control",
    "ControlFramework",
    "Document",
    "DocumentKind",
    "IdempotentRequest",
    "PipelineToken",
    "PipelineTokenScope",
    "Policy",
    "RaciAssignment",
    "RaciMatrix",
    "RequirementsDocument",
    "RetrainingCadence",
    "ThresholdPolicy",
    "ThresholdRule",
    "UseCase",
]
