"""What each role may see and edit of dataset lineage, registered with the roles in ``LineageConfig.ready``."""

from collections.abc import Mapping

from accounts.choices import Role
from accounts.roles import EDIT, VIEW, Actions
from lineage.models import (
    Dataset,
    DatasetVersion,
    ErasureRequest,
    LineageEdge,
    LineageRecord,
    LineageSource,
    LineageTemplate,
    SourceSystem,
    TransformationStep,
)

#: Dataset lineage as everyone involved reads it (reviewers, risk, auditors).
_READ = {
    SourceSystem: VIEW,
    Dataset: VIEW,
    DatasetVersion: VIEW,
    LineageRecord: VIEW,
    LineageSource: VIEW,
    TransformationStep: VIEW,
    LineageEdge: VIEW,
    LineageTemplate: VIEW,
    ErasureRequest: VIEW,
}

#: Registering data and its lineage (data stewards and ML engineers).
_AUTHORING = {
    DatasetVersion: EDIT,
    LineageRecord: EDIT,
    LineageSource: ("view", "add", "change", "delete"),
    TransformationStep: ("view", "add", "change", "delete"),
    LineageEdge: ("view", "add", "delete"),
}

ROLE_GRANTS: Mapping[Role, Mapping[type, Actions]] = {
    Role.ML_ENGINEER: {**_READ, **_AUTHORING},
    Role.DATA_STEWARD: {
        **_READ,
        **_AUTHORING,
        SourceSystem: EDIT,
        Dataset: EDIT,
        DatasetVersion: ("view", "add", "change", "assign_reviewers", "revoke"),
        ErasureRequest: EDIT,
        LineageTemplate: EDIT,
    },
    Role.LEGAL_REVIEWER: _READ,
    Role.SECURITY_REVIEWER: _READ,
    Role.COMPLIANCE_REVIEWER: {**_READ, DatasetVersion: ("view", "revoke"), ErasureRequest: EDIT},
    Role.RISK_OFFICER: _READ,
    Role.PRODUCT_OWNER: _READ,
    Role.CHANGE_ADVISORY_BOARD: _READ,
    Role.AUDITOR: _READ,
}
