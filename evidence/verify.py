"""Checking an evidence pack or an output provenance statement against this portal: first every offline check an
auditor runs with the standalone verifier (``evidence_pack_verifier``: the document signature, the embedded files
against the manifest, the checkpoint signature, the hash chain and every Merkle inclusion proof, and a statement's
answer record), trusting exactly the keys this portal publishes; then what only this database can tell: that the
checkpoint is one of this portal's ledger, that each entry of the slice is still as the database holds it, and that
this portal issued the document (a pack is a row of its own; a statement is issued by the download that recorded
its SHA-256, and its answer's record, unless retention has since purged it, is still the one the statement carries).
The first failure is the reason.
"""

from dataclasses import dataclass, field

from evidence_pack_verifier import Report, trust, verify
from evidence_pack_verifier.pack import Pack

from audit.canonical import model_label
from audit.choices import AccessKind
from audit.ledger import chain_hash
from audit.models import AccessEvent, LedgerCheckpoint, LedgerEntry
from audit.verification_keys import published
from evidence.models import EvidencePack
from evidence.output_statement import STATEMENT_DOCUMENT, STATEMENT_KIND
from inference.models import InferenceRecord
from inference.proofs import leaf_document


class PackInvalid(Exception):
    """The pack does not verify; the message says why."""


@dataclass
class PackReport:
    offline: Report
    files: list[str] = field(default_factory=list)
    entries: int = 0
    tree_size: int = 0
    pack_id: int | None = None
    #: A statement's: the download that issued it, and what became of its answer's record since.
    download: AccessEvent | None = None
    record_state: str = ""

    @property
    def is_statement(self) -> bool:
        return self.download is not None

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
    if pack.kind == STATEMENT_KIND:
        report.download = _issued_statement(offline.sha256)
        report.record_state = _record_state(pack.record.get("record"))
        return report
    issued = EvidencePack.objects.filter(sha256=offline.sha256).first()
    if issued is None:
        raise PackInvalid(f"No evidence pack with SHA-256 {offline.sha256} was issued by this portal.")
    report.pack_id = issued.pk
    return report


def _issued_statement(sha256: str) -> AccessEvent:
    """The download that issued the statement: statements are built for each request, not stored, and each
    download is an access event naming the SHA-256 it handed out."""
    download = (
        AccessEvent.objects.select_related("user")
        .filter(object_type=model_label(InferenceRecord), kind=AccessKind.DOWNLOAD)
        .filter(detail__document=STATEMENT_DOCUMENT, detail__sha256=sha256)
        .order_by("pk")
        .first()
    )
    if download is None:
        raise PackInvalid(f"No output provenance statement with SHA-256 {sha256} was issued by this portal.")
    return download


def _record_state(carried: object) -> str:
    """The answer's record in this database against the one the statement carries (which the offline checks
    proved into the batch's sealed root): unchanged, or purged since by retention; changed is a failure."""
    if not isinstance(carried, dict):
        raise PackInvalid("The statement carries no answer record.")
    stored = InferenceRecord.objects.filter(trace_id=carried.get("trace_id"), span_id=carried.get("span_id")).first()
    if stored is None:
        return "purged from this database since (retention); the statement's proof still holds"
    if leaf_document(stored) != carried:
        raise PackInvalid(
            f"The answer's record (trace {stored.trace_id}, span {stored.span_id}) in the database differs from the "
            "statement's: it was changed after it was sealed."
        )
    return "unchanged in this database"
