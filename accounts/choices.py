from django.db import models
from django.utils.translation import gettext_lazy as _

#: Usernames of service accounts (pipelines' identities) start with this: they hold pipeline tokens, never sign
#: in through the browser or single sign-on.
SERVICE_ACCOUNT_PREFIX = "svc-"


class Role(models.TextChoices):
    """The portal's roles. Each value is the exact name of a Django group, created by every ``migrate``."""

    ML_ENGINEER = "ML Engineer", _("ML Engineer")
    DATA_STEWARD = "Data Steward", _("Data Steward")
    LEGAL_REVIEWER = "Legal Reviewer", _("Legal Reviewer")
    SECURITY_REVIEWER = "Security Reviewer", _("Security Reviewer")
    COMPLIANCE_REVIEWER = "Compliance Reviewer", _("Compliance Reviewer")
    RISK_OFFICER = "Risk Officer", _("Risk Officer")
    PRODUCT_OWNER = "Product Owner", _("Product Owner")
    CHANGE_ADVISORY_BOARD = "Change Advisory Board", _("Change Advisory Board")
    AUDITOR = "Auditor", _("Auditor")


class RoleGrantState(models.TextChoices):
    """Where a role grant stands. The role is held (its group membership applied) from approval until revocation,
    including while a removal is pending."""

    REQUESTED = "requested", _("Requested")
    APPROVED = "approved", _("Approved")
    REJECTED = "rejected", _("Rejected")
    REVOCATION_REQUESTED = "revocation_requested", _("Removal requested")
    REVOKED = "revoked", _("Revoked")


#: The states in which a grant gives its role.
HOLDING_STATES = (RoleGrantState.APPROVED, RoleGrantState.REVOCATION_REQUESTED)
#: The states in which a grant is still open: at most one per person and role.
OPEN_STATES = (RoleGrantState.REQUESTED, *HOLDING_STATES)


class RoleGrantBasis(models.TextChoices):
    """On what authority a grant was recorded. Only ``approved`` grants went through maker-checker in the
    portal; the others are recorded with the reason they did not, and each is a ledger entry."""

    APPROVED = "approved", _("Requested and approved by two people")
    BEFORE_GOVERNANCE = "before_governance", _("Granted before governance")
    PROVISIONED = "provisioned", _("Provisioned at installation (bootstrap or demo seed)")
    IDENTITY_PROVIDER = "identity_provider", _("Assigned by the identity provider (single sign-on)")
    SERVICE_ACCOUNT = "service_account", _("Role of a pipeline's service account")


class AccessReviewState(models.TextChoices):
    OPEN = "open", _("Waiting for the role owner")
    ATTESTED = "attested", _("Attested")


class NotificationKind(models.TextChoices):
    """The kinds of e-mail the portal sends a person; each can be turned off on "My notifications"."""

    REVIEW_ASSIGNED = "review_assigned", _("A review is assigned to me")
    APPROVAL_AWAITED = "approval_awaited", _("A revision awaits my approval")
    REVIEW_OVERDUE = "review_overdue", _("Work waiting for me is overdue (at most once a day per item)")
    GATE_DECISION = "gate_decision", _("A gate needs a human decision")
