"""What each role may see and do with the governance app's own models, and with the people and groups of
``django.contrib.auth``; registered with the roles in ``GovernanceConfig.ready`` like every app's grants."""

from collections.abc import Mapping

from django.contrib.admin.models import LogEntry
from django.contrib.auth.models import Group, Permission, User

from accounts.choices import Role
from accounts.roles import EDIT, VIEW, Actions
from audit.models import (
    AccessEvent,
    LedgerCheckpoint,
    LedgerEntry,
    LedgerObjectHead,
    LedgerStateDifference,
    LedgerTreeTile,
    LedgerVerification,
    Signature,
    VerificationKey,
)
from governance.models import (
    BehaviorConstraint,
    BreakGlassOverride,
    Control,
    ControlFramework,
    Document,
    Policy,
    RaciAssignment,
    RaciMatrix,
    RequirementsDocument,
    RetrainingCadence,
    ThresholdPolicy,
    ThresholdRule,
    UseCase,
)

#: The trust core: the ledger and everything beside it. Audit models only ever have the view permission.
_AUDIT_TRAIL = {
    LedgerEntry: VIEW,
    Signature: VIEW,
    LedgerCheckpoint: VIEW,
    LedgerVerification: VIEW,
    LedgerStateDifference: VIEW,
    LedgerTreeTile: VIEW,
    LedgerObjectHead: VIEW,
    VerificationKey: VIEW,
    BreakGlassOverride: VIEW,
}

#: What everyone working on a use case reads.
_GOVERNANCE_READ = {
    UseCase: VIEW,
    Policy: VIEW,
    Control: VIEW,
    ControlFramework: VIEW,
    RequirementsDocument: VIEW,
    BehaviorConstraint: VIEW,
    RaciMatrix: VIEW,
    RaciAssignment: VIEW,
    ThresholdPolicy: VIEW,
    ThresholdRule: VIEW,
    RetrainingCadence: VIEW,
}

#: Drafting requirements (product owners and ML engineers write them; others sign them).
_REQUIREMENTS_DRAFTING = {
    RequirementsDocument: EDIT,
    BehaviorConstraint: ("view", "add", "change", "delete"),
}

#: Uploaded documents: everyone sees which exist; a role attaches to the records it owns and downloads those
#: (``governance.services.documents``); oversight roles download every document. Each download is recorded.
_DOCUMENTS_LISTED = {Document: VIEW}
_DOCUMENTS_DOWNLOAD = {Document: ("view", "view_file")}

ROLE_GRANTS: Mapping[Role, Mapping[type, Actions]] = {
    Role.ML_ENGINEER: {
        **_GOVERNANCE_READ,
        **_REQUIREMENTS_DRAFTING,
        Document: ("view", "attach_incident"),
    },
    Role.DATA_STEWARD: {**_GOVERNANCE_READ, Document: ("view", "attach_dataset")},
    Role.LEGAL_REVIEWER: {**_GOVERNANCE_READ, Document: ("view", "attach_dataset")},
    Role.SECURITY_REVIEWER: {**_GOVERNANCE_READ, Document: ("view", "attach_dataset", "attach_incident")},
    Role.COMPLIANCE_REVIEWER: {
        Group: VIEW,
        **_GOVERNANCE_READ,
        **_AUDIT_TRAIL,
        AccessEvent: VIEW,
        Policy: EDIT,
        RaciMatrix: ("view", "approve"),
        ThresholdPolicy: ("view", "approve"),
        Document: ("view", "view_file", "attach_usecase"),
    },
    # Risk officers own RACI, thresholds and cadences, and are the second person a break-glass override needs.
    Role.RISK_OFFICER: {
        Group: VIEW,
        **_GOVERNANCE_READ,
        **_AUDIT_TRAIL,
        RaciMatrix: ("view", "add", "approve"),
        ThresholdPolicy: ("view", "add", "approve"),
        RetrainingCadence: EDIT,
        BreakGlassOverride: ("view", "approve"),
        Document: ("view", "view_file", "attach_incident"),
    },
    Role.PRODUCT_OWNER: {
        **_GOVERNANCE_READ,
        **_REQUIREMENTS_DRAFTING,
        UseCase: EDIT,
        Document: ("view", "attach_usecase"),
    },
    Role.CHANGE_ADVISORY_BOARD: {**_GOVERNANCE_READ, **_DOCUMENTS_LISTED},
    # Auditors read everything: who holds which role, what was done, who signed, who looked at the evidence.
    Role.AUDITOR: {
        User: VIEW,
        Group: VIEW,
        Permission: VIEW,
        LogEntry: VIEW,
        **_GOVERNANCE_READ,
        **_AUDIT_TRAIL,
        AccessEvent: VIEW,
        **_DOCUMENTS_DOWNLOAD,
    },
}
