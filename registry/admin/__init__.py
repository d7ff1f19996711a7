"""The model registry in the admin. Pipelines create every record through the services; here people browse
them, read a model version's lineage and gates, and press the buttons that call the services: sign or reject
a change ticket, deploy it, roll a deployment back, engage its kill switch, review a borderline gate, and work
an incident to its close."""

from registry.admin.completeness import ProvenanceRequirementAdmin
from registry.admin.deployments import DeploymentAdmin, DeploymentEventAdmin, MonitoringSummaryAdmin
from registry.admin.operations import IncidentAdmin, ModelCardAdmin
from registry.admin.provenance import ProvenanceFlagAdmin
from registry.admin.tickets import ChangeTicketAdmin
from registry.admin.training import BaseModelAdmin, ModelVersionAdmin, TrainingRunAdmin, TrainingRunDatasetAdmin
from registry.admin.validation import (
    GateDecisionAdmin,
    ValidationCaseAdmin,
    ValidationResultAdmin,
    ValidationRunAdmin,
    ValidationSuiteAdmin,
)

__all__ = [
    "BaseModelAdmin",
    "ChangeTicketAdmin",
    "DeploymentAdmin",
    "DeploymentEventAdmin",
    "GateDecisionAdmin",
    "IncidentAdmin",
    "ModelCardAdmin",
    "ModelVersionAdmin",
    "MonitoringSummaryAdmin",
    "ProvenanceFlagAdmin",
    "ProvenanceRequirementAdmin",
    "TrainingRunAdmin",
    "TrainingRunDatasetAdmin",
    "ValidationCaseAdmin",
    "ValidationResultAdmin",
    "ValidationRunAdmin",
    "ValidationSuiteAdmin",
]
