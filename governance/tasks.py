"""Scheduled ledger housekeeping (see ``CELERY_BEAT_SCHEDULE``). Both tasks are idempotent."""

from celery import shared_task

from governance.checkpoints import ledger_checkpoint_create
from governance.verification import ledger_verify_and_record


@shared_task(name="governance.tasks.make_ledger_checkpoint")
def make_ledger_checkpoint() -> int | None:
    """A checkpoint if anything was appended since the last one; returns its tree size."""
    checkpoint = ledger_checkpoint_create()
    return checkpoint.tree_size if checkpoint else None


@shared_task(name="governance.tasks.verify_ledger_chain")
def verify_ledger_chain() -> dict[str, object]:
    """Verify the ledger; a failure is logged as an error and shown to staff on every landing page."""
    run = ledger_verify_and_record()
    return {"ok": run.ok, "entries": run.entries_checked, "first_broken_sequence": run.first_broken_sequence}


@shared_task(name="governance.tasks.flag_due_retraining")
def flag_due_retraining() -> list[str]:
    """Flag use cases whose scheduled retraining has come due (shown on risk officers' landing pages)."""
    from governance.services.retraining import retraining_flag_due

    return [cadence.use_case.slug for cadence in retraining_flag_due()]
