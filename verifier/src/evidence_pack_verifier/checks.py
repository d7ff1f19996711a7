"""The checks, in the order they run: each later one relies on what the ones before established (the embedded
files are the signed ones, the checkpoint is a trusted one). The first that fails ends the verification.

A check is a function ``(pack, trust) -> str``: it returns what it established, or raises ``CheckFailed`` saying
why the pack does not hold. A new check is one more entry of ``CHECKS``.
"""

from collections.abc import Callable
from dataclasses import dataclass

from evidence_pack_verifier import attachments, checkpoint, completeness, ledger, signature
from evidence_pack_verifier.pack import Pack
from evidence_pack_verifier.report import CheckFailed, Failure, Passed, Report
from evidence_pack_verifier.trust import Trust


@dataclass(frozen=True)
class Check:
    name: str
    run: Callable[[Pack, Trust], str]


CHECKS: tuple[Check, ...] = (
    Check("document signature", signature.check),
    Check("embedded files", attachments.check),
    Check("checkpoint signature", checkpoint.check),
    Check("hash chain", ledger.check_chain),
    Check("Merkle inclusion", ledger.check_inclusion),
    # Last: it reads the manifest, the entries and the statement, all established by the checks above.
    Check("completeness", completeness.check),
)


def verify(pdf: bytes, trust: Trust, *, on_pass: Callable[[Passed], None] | None = None) -> tuple[Report, Pack]:
    """Runs ``CHECKS`` over ``pdf`` until one fails; ``on_pass`` hears of each check as it passes. Returns the
    report and the pack as read (its manifest and ledger slice, for checks beyond these, such as a portal's)."""
    pack = Pack(pdf)
    report = Report(sha256=pack.sha256)
    for check in CHECKS:
        try:
            detail = check.run(pack, trust)
        except CheckFailed as failed:
            report.failure = Failure(check=check.name, reason=str(failed))
            break
        passed = Passed(check=check.name, detail=detail)
        report.passed.append(passed)
        if on_pass is not None:
            on_pass(passed)
    return report, pack
