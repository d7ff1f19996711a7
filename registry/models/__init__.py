"""The model registry: from approved data to governed model versions, their gates, promotions and incidents."""

from registry.models.completeness import ProvenanceRequirement
from registry.models.operations import Incident, ModelCard, MonitoringSummary
from registry.models.promotion import ChangeTicket, Deployment, DeploymentEvent
from registry.models.provenance import ProvenanceFlag
from registry.models.training import BaseModel, ModelVersion, TrainingRun, TrainingRunDataset
from registry.models.validation import GateDecision, ValidationCase, ValidationResult, ValidationRun, ValidationSuite

__all__ = [
    "BaseModel",
    "ChangeTicket",
    "Deployment",
    "DeploymentEvent",
    "GateDecision",
    "Incident",
    "ModelCard",
    "ModelVersion",
    "MonitoringSummary",
    "ProvenanceFlag",
    "ProvenanceRequirement",
    "TrainingRun",
    "TrainingRunDataset",
    "ValidationCase",
    "ValidationResult",
    "ValidationRun",
    "ValidationSuite",
]
