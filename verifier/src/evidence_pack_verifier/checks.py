"""The checks, in the order they run: each later one relies on what the ones before established (the embedded
files are the signed ones, the checkpoint is a trusted one). The first that fails ends the verification.

A check is a function ``(pack, trust) -> str``: it returns what it established, or raises ``CheckFailed`` saying
why the pack does not hold. A new check is one more entry of ``CHECKS``.

An output provenance statement is built and signed like a pack and carries what a pack carries (a manifest of its
files, a signed checkpoint, a ledger slice with its completeness section), so every check of a pack applies to it;
"answer record" applies to statements only (``Check.kinds``), and runs after the manifest was read, so which kind of
document it is has been established.
"""

from collections.abc import Callable
from dataclasses import dataclass

from evidence_pack_verifier import answer, attachments, checkpoint, completeness, ledger, signature
from evidence_pack_verifier.formats import STATEMENT_KIND
from evidence_pack_verifier.pack import Pack
from evidence_pack_verifier.report import CheckFailed, Failure, Passed, Report
from evidence_pack_verifier.trust import Trust


@dataclass(frozen=True)
class Check:
    name: str
    run: Callable[[Pack, Trust], str]
    #: The manifest kinds the check applies to; every kind when None.
    kinds: frozenset[str] | None = None

    def applies(self, pack: Pack) -> bool:
        # The manifest is read only for a check of some kinds: one for every kind runs before anything is read.
        return self.kinds is None or pack.kind in self.kinds


CHECKS: tuple[Check, ...] = (
    Check("document signature", signature.check),
    Check("embedded files", attachments.check),
    Check("checkpoint signature", checkpoint.check),
    Check("hash chain", ledger.check_chain),
    Check("Merkle inclusion", ledger.check_inclusion),
    # It reads the manifest, the entries and the statement, all established by the checks above.
    Check("completeness", completeness.check),
    # A statement's answer: its leaf proved into the root of the batch entry the checks above proved into the ledger.
    Check("answer record", answer.check, kinds=frozenset({STATEMENT_KIND})),
)


def checks_for(kind: str) -> tuple[Check, ...]:
    """The checks a document of manifest ``kind`` gets, in order."""
    return tuple(check for check in CHECKS if check.kinds is None or kind in check.kinds)


def verify(pdf: bytes, trust: Trust, *, on_pass: Callable[[Passed], None] | None = None) -> tuple[Report, Pack]:
    """Runs the ``CHECKS`` that apply to ``pdf``'s kind until one fails; ``on_pass`` hears of each check as it
    passes. Returns the report and the pack as read (its manifest and ledger slice, for checks beyond these, such as
    a portal's)."""
    pack = Pack(pdf)
    report = Report(sha256=pack.sha256)
    for check in CHECKS:
        try:
            if not check.applies(pack):
                continue
            detail = check.run(pack, trust)
        except CheckFailed as failed:
            report.failure = Failure(check=check.name, reason=str(failed))
            break
        passed = Passed(check=check.name, detail=detail)
        report.passed.append(passed)
        if on_pass is not None:
            on_pass(passed)
    return report, pack
