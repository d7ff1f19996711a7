"""Fifty writers at once still produce one gapless, unforked chain."""

from functools import partial

import pytest
from django.db import transaction

from audit import ledger
from audit.choices import LedgerAction
from audit.models import LedgerEntry
from audit.models.ledger import GENESIS_HASH
from audit.verification import verify_chain
from tests import services
from tests.concurrency import run_at_once

WRITERS = 50
APPENDS_EACH = 4


@services.postgres_race
@pytest.mark.django_db(transaction=True)
def test_fifty_concurrent_appenders_produce_one_gapless_unforked_chain() -> None:
    def writer(number: int) -> None:
        for step in range(APPENDS_EACH):
            with transaction.atomic():
                ledger.append(action=LedgerAction.EXPORT, payload={"writer": number, "step": step}, actor_name="t")

    outcomes = run_at_once(*(partial(writer, number) for number in range(WRITERS)), timeout=120)

    errors = [outcome.error for outcome in outcomes if outcome.error is not None]
    assert not errors, errors[0]
    rows = list(LedgerEntry.objects.order_by("sequence").values_list("sequence", "prev_hash", "entry_hash"))
    assert [sequence for sequence, _prev, _hash in rows] == list(range(1, WRITERS * APPENDS_EACH + 1))
    links = [bytes(prev) for _seq, prev, _hash in rows]
    assert links == [GENESIS_HASH] + [bytes(entry_hash) for _seq, _prev, entry_hash in rows[:-1]]
    assert len(set(links)) == len(links)  # no two entries share a predecessor: no fork
    report = verify_chain()
    assert report.ok, report.message
    assert report.entries_checked == WRITERS * APPENDS_EACH
