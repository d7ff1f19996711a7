from django.db import models
from django.utils.translation import gettext_lazy as _


class Role(models.TextChoices):
    """The portal's roles. Each value is the exact name of a Django group created by migration."""

    ML_ENGINEER = "ML Engineer", _("ML Engineer")
    DATA_STEWARD = "Data Steward", _("Data Steward")
    LEGAL_REVIEWER = "Legal Reviewer", _("Legal Reviewer")
    SECURITY_REVIEWER = "Security Reviewer", _("Security Reviewer")
    COMPLIANCE_REVIEWER = "Compliance Reviewer", _("Compliance Reviewer")
    RISK_OFFICER = "Risk Officer", _("Risk Officer")
    PRODUCT_OWNER = "Product Owner", _("Product Owner")
    CHANGE_ADVISORY_BOARD = "Change Advisory Board", _("Change Advisory Board")
    AUDITOR = "Auditor", _("Auditor")


class LedgerAction(models.TextChoices):
    """What a ledger entry records."""

    CREATE = "create", _("Create")
    UPDATE = "update", _("Update")
    DELETE = "delete", _("Delete")
    TRANSITION = "transition", _("Transition")
    SIGN = "sign", _("Sign")
    OVERRIDE = "override", _("Break-glass override")
    EXPORT = "export", _("Export")
    DOWNLOAD = "download", _("Download")
    VIEW = "view", _("View")
    DENIED = "denied", _("Denied")
    CHECKPOINT = "checkpoint", _("Checkpoint")


class AccessKind(models.TextChoices):
    """What an access event records: reading, not changing."""

    VIEW_AUDIT_TRAIL = "view_audit_trail", _("Viewed audit trail")
    EXPORT = "export", _("Exported")
    DOWNLOAD = "download", _("Downloaded")
