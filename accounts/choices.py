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
