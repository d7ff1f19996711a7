"""Admin for the governance app: use cases, policies, requirements, RACI, thresholds, retraining, documents
and break-glass overrides."""

from governance.admin.catalogue import ControlAdmin, ControlFrameworkAdmin, PolicyAdmin
from governance.admin.documents import DocumentAdmin
from governance.admin.overrides import BreakGlassOverrideAdmin
from governance.admin.requirements import RequirementsDocumentAdmin
from governance.admin.retraining import RetrainingCadenceAdmin
from governance.admin.revisions import RaciMatrixAdmin, ThresholdPolicyAdmin
from governance.admin.usecases import UseCaseAdmin

__all__ = [
    "BreakGlassOverrideAdmin",
    "ControlAdmin",
    "ControlFrameworkAdmin",
    "DocumentAdmin",
    "PolicyAdmin",
    "RaciMatrixAdmin",
    "RequirementsDocumentAdmin",
    "RetrainingCadenceAdmin",
    "ThresholdPolicyAdmin",
    "UseCaseAdmin",
]
