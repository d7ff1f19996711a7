"""Identity and access's own records. People, groups and permissions are Django's (``django.contrib.auth``);
each module holds one concern; import from here."""

from accounts.models.grants import AccessReview, RoleGrant
from accounts.models.sessions import UserSession
from accounts.models.tokens import IdempotentRequest, PipelineToken, PipelineTokenScope, validate_rate

__all__ = [
    "AccessReview",
    "IdempotentRequest",
    "PipelineToken",
    "PipelineTokenScope",
    "RoleGrant",
    "UserSession",
    "validate_rate",
]
