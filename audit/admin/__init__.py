"""Admin of the trust core: the read-only audit tables (ledger, signatures, checkpoints, the stored tree,
verifications, access events), and the base classes every app's admin builds on (read-only evidence, governed
models' audit trail)."""

from audit.admin.governed import GovernedAdmin, ReadOnlyAuditAdmin
from audit.admin.ledger import (
    AccessEventAdmin,
    LedgerCheckpointAdmin,
    LedgerEntryAdmin,
    LedgerObjectHeadAdmin,
    LedgerStateDifferenceAdmin,
    LedgerTreeTileAdmin,
    LedgerVerificationAdmin,
    SignatureAdmin,
    VerificationKeyAdmin,
)

__all__ = [
    "AccessEventAdmin",
    "GovernedAdmin",
    "LedgerCheckpointAdmin",
    "LedgerEntryAdmin",
    "LedgerObjectHeadAdmin",
    "LedgerStateDifferenceAdmin",
    "LedgerTreeTileAdmin",
    "LedgerVerificationAdmin",
    "ReadOnlyAuditAdmin",
    "SignatureAdmin",
    "VerificationKeyAdmin",
]
