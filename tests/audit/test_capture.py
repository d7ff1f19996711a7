"""Every governed change becomes a ledger entry in the same transaction."""

import pytest
from django.db import transaction

from audit.audit_context import acting_as
from audit.choices import LedgerAction
from audit.models import GovernedWriteRefused, LedgerEntry
from tests.governed_app.models import Memo
from tests.governed_app.services import memo_edit

pytestmark = pytest.mark.django_db


def entries_for(memo: Memo) -> list[LedgerEntry]:
    return list(
        LedgerEntry.objects.filter(object_type="governed_app.memo", object_id=str(memo.pk)).order_by("sequence")
    )


def test_creating_a_governed_record_writes_a_create_entry_with_its_fields(memo: Memo, author) -> None:
    [entry] = entries_for(memo)

    assert entry.action == LedgerAction.CREATE
    assert entry.actor == author
    assert entry.object_label == "Card redaction rule"
    assert entry.payload["after"]["body"] == "Redact full card numbers."
    assert entry.payload["after"]["amount"] == "0.00"


def test_an_update_records_before_and_after_of_the_changed_fields_only(memo: Memo, author) -> None:
    memo_edit(memo=memo, actor=author, body="Redact full card numbers and CVVs.")

    update = entries_for(memo)[-1]
    assert update.action == LedgerAction.UPDATE
    assert update.payload["changes"]["body"] == {
        "before": "Redact full card numbers.",
        "after": "Redact full card numbers and CVVs.",
    }
    assert "title" not in update.payload["changes"]


def test_a_deletion_records_what_was_deleted(memo: Memo, author) -> None:
    pk = memo.pk
    with transaction.atomic(), acting_as(author):
        memo.delete()

    deletion = (
        LedgerEntry.objects.filter(object_id=str(pk), object_type="governed_app.memo").order_by("sequence").last()
    )
    assert deletion.action == LedgerAction.DELETE
    assert deletion.payload["before"]["title"] == "Card redaction rule"


def test_a_transition_records_its_name_source_and_target(memo: Memo, author) -> None:
    with transaction.atomic(), acting_as(author):
        memo.publish()
        memo.save()

    actions = [entry.action for entry in entries_for(memo)]
    assert actions == [LedgerAction.CREATE, LedgerAction.TRANSITION, LedgerAction.UPDATE]
    transition = entries_for(memo)[1]
    assert transition.payload == {
        "transition": "publish",
        "field": "status",
        "source": "draft",
        "target": "published",
    }


def test_a_failed_change_leaves_neither_the_change_nor_its_entry(memo: Memo, author) -> None:
    before = LedgerEntry.objects.count()

    with pytest.raises(RuntimeError), transaction.atomic(), acting_as(author):
        memo.body = "half-done"
        memo.save()
        raise RuntimeError("validation failed after saving")

    memo.refresh_from_db()
    assert memo.body == "Redact full card numbers."
    assert LedgerEntry.objects.count() == before


@pytest.mark.parametrize(
    "bulk_write",
    [
        lambda: Memo.objects.update(body="bulk"),
        lambda: Memo.objects.bulk_update(list(Memo.objects.all()), ["body"]),
        lambda: Memo.objects.bulk_create([Memo(title="bulk")]),
    ],
    ids=["update", "bulk_update", "bulk_create"],
)
def test_bulk_writes_that_would_skip_history_and_the_ledger_are_refused(memo: Memo, bulk_write) -> None:
    with pytest.raises(GovernedWriteRefused, match="skip its history and the audit ledger"):
        bulk_write()


def test_the_state_field_cannot_be_assigned_directly(memo: Memo) -> None:
    with pytest.raises(AttributeError):
        memo.status = "published"
