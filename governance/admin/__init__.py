"""Admin for the governance app: the trust core (read-only audit models, audit trails) and the governance
domain (use cases, policies, requirements, RACI, thresholds, retraining)."""

from governance.admin.audit import (
    AccessEventAdmin,
    LedgerCheckpointAdmin,
    LedgerEntryAdmin,
    LedgerVerificationAdmin,
    SignatureAdmin,
)
from governance.admin.catalogue import ControlAdmin, ControlFrameworkAdmin, PolicyAdmin
from governance.admin.documents import DocumentAdmin
from governance.admin.governed import GovernedAdmin, ReadOnlyAuditAdmin, RoleGatedAdmin
from governance.admin.requirements import RequirementsDocumentAdmin
from governance.admin.retraining import RetrainingCadenceAdmin
from governance.admin.revisions import RaciMatrixAdmin, ThresholdPolicyAdmin
from governance.admin.tokens import PipelineTokenAdmin
from governance.admin.usecases import UseCaseAdmin

__all__ = [
    "AccessEventAdmin",
    "ControlAdmin",
    "ControlFrameworkAdmin",
    "DocumentAdmin",
    "GovernedAdmin",
    "LedgerCheckpointAdmin",
    "LedgerEntryAdmin",
    "LedgerVerificationAdmin",
    "PipelineTokenAdmin",
    "PolicyAdmin",
    "RaciMatrixAdmin",
    "ReadOnlyAuditAdmin",
    "RequirementsDocumentAdmin",
    "RetrainingCadenceAdmin",
    "RoleGatedAdmin",
    "SignatureAdmin",
    "ThresholdPolicyAdmin",
    "UseCaseAdmin",
]
