"""Identity and access's own records. People, groups and permissions are Django's (``django.contrib.auth``);
each module holds one concern; import from here."""

from accounts.models.delegations import Delegation
from accounts.models.discussion import Comment
from accounts.models.grants import AccessReview, RoleGrant
from accounts.models.notifications import NotificationDelivery, NotificationOptOut
from accounts.models.sessions import UserSession
from accounts.models.tokens import IdempotentRequest, PipelineToken, PipelineTokenScope, validate_rate

__all__ = [
    "AccessReview",
    "Comment",
    "Delegation",
    "IdempotentRequest",
    "NotificationDelivery",
    "NotificationOptOut",
    "PipelineToken",
    "PipelineTokenScope",
    "RoleGrant",
    "UserSession",
    "validate_rate",
]
