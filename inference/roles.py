"""Who reads inference records, and who writes them (the serving side's pipeline tokens, as ML Engineers)."""

from collections.abc import Mapping

from accounts.choices import Role
from accounts.roles import VIEW, Actions
from inference.models import InferenceBatch, InferenceRecord

_READ = {InferenceBatch: VIEW, InferenceRecord: VIEW}

ROLE_GRANTS: Mapping[Role, Mapping[type, Actions]] = {
    Role.ML_ENGINEER: {InferenceBatch: ("view", "add"), InferenceRecord: VIEW},
    Role.SECURITY_REVIEWER: _READ,
    Role.COMPLIANCE_REVIEWER: _READ,
    Role.RISK_OFFICER: _READ,
    Role.AUDITOR: _READ,
}
