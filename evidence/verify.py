"""Checking an evidence pack against this portal: first every offline check an auditor runs with the standalone
verifier (``evidence_pack_verifier``: the document signature, the embedded files against the manifest, the checkpoint
signature, the hash chain and every Merkle inclusion proof), trusting exactly the keys this portal publishes; then
what only this database can tell: that the checkpoint is one of this portal's ledger, that each entry of the slice is
still as the database holds it, and that this portal issued the pack. The first failure is the reason.
"""

from dataclasses import dataclass, field

from evidence_pack_verifier import Report, trust, verify
from evidence_pack_verifier.pack import Pack

from audit.ledger import chain_hash
from audit.models import LedgerCheckpoint, LedgerEntry
from audit.verification_keys import published
from evidence.models import EvidencePack


class PackInvalid(Exception):
    """The pack does not verify; the message says why."""


@dataclass
class PackReport:
    offline: Report
    files: list[str] = field(default_factory=list)
    entries: int = 0
    tree_size: int = 0
    pack_id: int | None = None

    @property
    def sha256(self) -> str:
        return self.offline.sha256


def _check_checkpoint(pack: Pack) -> None:
    stored = LedgerCheckpoint.objects.filter(tree_size=pack.tree_size).first()
    if stored is None or bytes(stored.root_hash) != pack.root_hash:
        raise PackInvalid(f"Checkpoint {pack.tree_size} of the pack is not a checkpoint of this portal's ledger.")


def _check_entries(pack: Pack) -> None:
    """Every entry of the slice unchanged in the database (the pack proves it was in the ledger; only the database
    can say it still is)."""
    stored = {
        row[0]: row[1:]
        for row in LedgerEntry.objects.filter(sequence__in=[row.sequence for row in pack.ledger]).values_list(
            "sequence", "canonical", "entry_hash", "prev_hash"
        )
    }
    for row in pack.ledger:
        if row.sequence not in stored:
            raise PackInvalid(f"Ledger entry #{row.sequence} of the pack is missing from the database.")
        db_canonical, db_hash, db_prev = (bytes(value) for value in stored[row.sequence])
        if db_canonical != row.canonical or db_hash != row.entry_hash or db_prev != row.prev_hash:
            raise PackInvalid(f"Ledger entry #{row.sequence} in the database differs from the pack: it was rewritten.")
        if chain_hash(db_prev, db_canonical) != db_hash:
            raise PackInvalid(f"Ledger entry #{row.sequence} in the database does not match its own hash.")


def verify_pack(pdf: bytes) -> PackReport:
    """Raises ``PackInvalid`` with the first reason the pack does not hold; returns what was checked."""
    offline, pack = verify(pdf, trust.parse(published()))
    if offline.failure is not None:
        raise PackInvalid(f"{offline.failure.check}: {offline.failure.reason}.")
    report = PackReport(offline=offline, files=sorted(pack.attachments), tree_size=pack.tree_size)
    _check_checkpoint(pack)
    _check_entries(pack)
    report.entries = len(pack.ledger)
    issued = EvidencePack.objects.filter(sha256=offline.sha256).first()
    if issued is None:
        raise PackInvalid(f"No evidence pack with SHA-256 {offline.sha256} was issued by this portal.")
    report.pack_id = issued.pk
    return report
