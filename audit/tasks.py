"""Scheduled ledger housekeeping (see ``CELERY_BEAT_SCHEDULE``). Every task is idempotent."""

from celery import shared_task

from audit.checkpoints import ledger_checkpoint_create
from audit.verification import ledger_verify_and_record


@shared_task(name="audit.tasks.make_ledger_checkpoint")
def make_ledger_checkpoint() -> int | None:
    """A checkpoint if anything was appended since the last one; returns its tree size."""
    checkpoint = ledger_checkpoint_create()
    return checkpoint.tree_size if checkpoint else None


@shared_task(name="audit.tasks.verify_ledger_chain")
def verify_ledger_chain() -> dict[str, object]:
    """Verify the ledger and replay it over the governed rows; a failure or a difference is logged as an error and
    shown to staff on every landing page."""
    run = ledger_verify_and_record(state=True)
    return {"ok": run.ok, "entries": run.entries_checked, "first_broken_sequence": run.first_broken_sequence}


@shared_task(name="audit.tasks.verify_ledger_since_last")
def verify_ledger_since_last() -> dict[str, object]:
    """The frequent check: the entries after the last verified checkpoint and the stored tree's consistency with it
    (a full run if nothing was verified yet or the last run failed)."""
    run = ledger_verify_and_record(since_last=True)
    return {"ok": run.ok, "entries": run.entries_checked, "first_broken_sequence": run.first_broken_sequence}
