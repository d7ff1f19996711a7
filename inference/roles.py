"""Who reads inference records and their reviews, and who writes records (the serving side's pipeline tokens, as ML
Engineers). Who reviews an escalated answer is the use case's RACI's to say (``inference.reviews``), not a role's."""

from collections.abc import Mapping

from accounts.choices import Role
from accounts.roles import VIEW, Actions
from inference.models import AnswerReview, InferenceBatch, InferenceRecord

_READ = {InferenceBatch: VIEW, InferenceRecord: VIEW, AnswerReview: VIEW}

ROLE_GRANTS: Mapping[Role, Mapping[type, Actions]] = {
    Role.ML_ENGINEER: {InferenceBatch: ("view", "add"), InferenceRecord: VIEW, AnswerReview: VIEW},
    Role.SECURITY_REVIEWER: _READ,
    Role.COMPLIANCE_REVIEWER: _READ,
    Role.RISK_OFFICER: _READ,
    Role.AUDITOR: _READ,
}
