"""Reads that several views share."""

from audit.models import LedgerVerification


def ledger_integrity_alert() -> LedgerVerification | None:
    """The latest ledger verification if it failed: every staff landing page shows it until a run passes."""
    latest = LedgerVerification.objects.order_by("-started_at", "-id").first()
    return latest if latest is not None and not latest.ok else None
