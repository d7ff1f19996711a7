"""Governance models: use cases, requirements, policies and controls, RACI, thresholds, retraining, documents
and break-glass overrides. Each module holds one concern; import from here."""

from governance.models.controls import Control, ControlFramework, Policy
from governance.models.documents import Document, DocumentKind
from governance.models.overrides import BreakGlassOverride
from governance.models.raci import RaciAssignment, RaciMatrix
from governance.models.requirements import BehaviorConstraint, RequirementsDocument
from governance.models.retraining import RetrainingCadence
from governance.models.thresholds import ThresholdPolicy, ThresholdRule
from governance.models.usecases import UseCase

__all__ = [
    "BehaviorConstraint",
    "BreakGlassOverride",
    "Control",
    "ControlFramework",
    "Document",
    "DocumentKind",
    "Policy",
    "RaciAssignment",
    "RaciMatrix",
    "RequirementsDocument",
    "RetrainingCadence",
    "ThresholdPolicy",
    "ThresholdRule",
    "UseCase",
]
