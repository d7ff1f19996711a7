"""Reads that several views share."""

from dataclasses import dataclass

from audit.models import LedgerVerification
from audit.state_replay import describe, latest_state_replay

#: Differences named on the landing page; the rest are counted (all are listed with the verification run).
SHOWN_DIFFERENCES = 5


def ledger_integrity_alert() -> LedgerVerification | None:
    """The latest ledger verification if it failed: every staff landing page shows it until a run passes."""
    latest = LedgerVerification.objects.order_by("-started_at", "-id").first()
    return latest if latest is not None and not latest.ok else None


@dataclass
class LedgerStateAlert:
    verification: LedgerVerification
    examples: list[str]

    @property
    def more(self) -> int:
        return self.verification.state_differences - len(self.examples)


def ledger_state_alert() -> LedgerStateAlert | None:
    """The latest replay of the ledger over the governed rows, if rows differ from it: shown on every staff
    landing page, like a broken chain, until a later replay finds none (a run of the chain alone does not clear
    it, since it does not look at the rows)."""
    replay = latest_state_replay()
    if replay is None or not replay.state_differences:
        return None
    shown = replay.differences.order_by("object_type", "object_id", "field")[:SHOWN_DIFFERENCES]
    return LedgerStateAlert(verification=replay, examples=[describe(difference) for difference in shown])
