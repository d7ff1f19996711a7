"""What each role may see and do in the model registry, registered with the roles in ``RegistryConfig.ready``.

``approve`` on change tickets is approval authority: the ticket services check it through role groups only, and
the approvers' worklist (``registry.queues``) is derived from it."""

from collections.abc import Mapping

from accounts.choices import Role
from accounts.roles import EDIT, VIEW, Actions
from registry.models import (
    BaseModel,
    ChangeTicket,
    Deployment,
    DeploymentEvent,
    GateDecision,
    Incident,
    ModelCard,
    ModelVersion,
    MonitoringSummary,
    ProvenanceFlag,
    ProvenanceRequirement,
    TrainingRun,
    TrainingRunDataset,
    ValidationCase,
    ValidationResult,
    ValidationRun,
    ValidationSuite,
)

#: The model registry as everyone involved reads it.
_READ = {
    model: VIEW
    for model in (
        BaseModel,
        TrainingRun,
        TrainingRunDataset,
        ModelVersion,
        ValidationSuite,
        ValidationCase,
        ValidationRun,
        ValidationResult,
        GateDecision,
        ChangeTicket,
        Deployment,
        DeploymentEvent,
        Incident,
        MonitoringSummary,
        ModelCard,
        ProvenanceFlag,
        ProvenanceRequirement,
    )
}

#: Registering runs, versions, validation and promotion requests (ML engineers, mostly from pipelines).
_AUTHORING = {
    **_READ,
    BaseModel: EDIT,
    TrainingRun: EDIT,
    ModelVersion: EDIT,
    ValidationSuite: EDIT,
    ValidationCase: EDIT,
    ValidationRun: ("view", "add"),
    GateDecision: ("view", "add"),
    ChangeTicket: EDIT,
    ModelCard: ("view", "add"),
    MonitoringSummary: ("view", "add"),
    Incident: EDIT,
    Deployment: ("view", "deploy_dev"),
}

#: Signing promotion tickets (each signer for the RACI functions they hold).
TICKET_APPROVAL = "approve"
_TICKET_SIGNING = {ChangeTicket: ("view", TICKET_APPROVAL)}

ROLE_GRANTS: Mapping[Role, Mapping[type, Actions]] = {
    Role.ML_ENGINEER: _AUTHORING,
    Role.DATA_STEWARD: _READ,
    Role.LEGAL_REVIEWER: _READ,
    Role.SECURITY_REVIEWER: {
        **_READ,
        **_TICKET_SIGNING,
        Deployment: ("view", "kill_switch"),
        Incident: EDIT,
    },
    Role.COMPLIANCE_REVIEWER: _READ,
    Role.RISK_OFFICER: {
        **_READ,
        **_TICKET_SIGNING,
        ModelVersion: ("view", "gate_review"),
        Deployment: ("view", "change", "rollback", "kill_switch"),
        Incident: ("view", "add", "change", "close"),
        ProvenanceFlag: ("view", "resolve"),
        # The required-facts setting: proposed by one Risk Officer, approved by a second.
        ProvenanceRequirement: ("view", "add", "approve"),
    },
    Role.PRODUCT_OWNER: {**_READ, **_TICKET_SIGNING, ModelCard: ("view", "add")},
    Role.CHANGE_ADVISORY_BOARD: {**_READ, **_TICKET_SIGNING},
    Role.AUDITOR: _READ,
}
