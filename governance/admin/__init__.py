"""Admin for the trust core: read-only audit models and the audit trail of every governed record."""

from governance.admin.audit import (
    AccessEventAdmin,
    LedgerCheckpointAdmin,
    LedgerEntryAdmin,
    LedgerVerificationAdmin,
    SignatureAdmin,
)
from governance.admin.governed import GovernedAdmin, ReadOnlyAuditAdmin

__all__ = [
    "AccessEventAdmin",
    "GovernedAdmin",
    "LedgerCheckpointAdmin",
    "LedgerEntryAdmin",
    "LedgerVerificationAdmin",
    "ReadOnlyAuditAdmin",
    "SignatureAdmin",
]
