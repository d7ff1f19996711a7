from django.db import models
from django.utils.translation import gettext_lazy as _


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
    LOGIN_FAILED = "login_failed", _("Failed sign-in")
    LOCKOUT = "lockout", _("Account locked out")
    UNLOCK = "unlock", _("Lockout lifted")
    MFA_ENROLMENT = "mfa_enrolment", _("Second factor enrolled or removed")
    UPLOAD = "upload", _("Document uploaded")
    COMMENT = "comment", _("Comment")


class AccessKind(models.TextChoices):
    """What an access event records: reading, not changing."""

    VIEW_AUDIT_TRAIL = "view_audit_trail", _("Viewed audit trail")
    EXPORT = "export", _("Exported")
    DOWNLOAD = "download", _("Downloaded")


class StateDifferenceKind(models.TextChoices):
    """How a governed row disagrees with what the ledger says it is."""

    FIELD = "field", _("Field differs from the ledger")
    UNRECORDED = "unrecorded", _("Row exists with no ledger record of its creation")
    VANISHED = "vanished", _("Row deleted without a ledger entry")
    UNDELETED = "undeleted", _("Row exists though the ledger records its deletion")


class VerificationKeyKind(models.TextChoices):
    """What a published verification key checks."""

    LEDGER_CHECKPOINT = "ledger_checkpoint", _("Ledger checkpoint key (Ed25519)")
    DOCUMENT_SIGNING = "document_signing", _("Evidence pack signing certificate (X.509)")
