"""The object heads map each checkpoint signs (``audit.heads``): advanced checkpoint by checkpoint it is what a build
from scratch gives, its root is in the signed statement, a ledger from before it gets it on the next checkpoint, a
checkpoint's queries do not grow with the ledger, and a pack's read of it and a checkpoint do not interleave."""

import hashlib
import json
import threading
import time

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from audit import heads, ledger, merkle, signing_keys
from audit.canonical import canonical_bytes
from audit.checkpoints import STATEMENT_KIND, file_name_for, ledger_checkpoint_create
from audit.choices import LedgerAction
from audit.models import LedgerCheckpoint, LedgerEntry, LedgerHeadsTile, LedgerObjectHead
from audit.tree import store_tiles

pytestmark = pytest.mark.django_db


def append_about(*objects: tuple[str, str]) -> None:
    for object_type, object_id in objects:
        ledger.append(
            action=LedgerAction.UPDATE, object_type=object_type, object_id=object_id, actor_name="system:test"
        )


def entries_in_bulk(count: int, *, objects: int) -> None:
    """``count`` ledger rows about ``objects`` records, numbered on from the tail (their hashes make a tree, not a
    chain: only the tree and the heads matter here)."""
    after = LedgerEntry.objects.order_by("-sequence").values_list("sequence", flat=True).first() or 0
    now = timezone.now()
    LedgerEntry.objects.bulk_create(
        [
            LedgerEntry(
                sequence=sequence,
                recorded_at=now,
                actor_name="system:test",
                action=LedgerAction.VIEW,
                object_type="tests.record",
                object_id=str(sequence % objects),
                canonical=b"{}",
                prev_hash=hashlib.sha256(b"prev %d" % sequence).digest(),
                entry_hash=hashlib.sha256(b"entry %d" % sequence).digest(),
            )
            for sequence in range(after + 1, after + count + 1)
        ],
        batch_size=2_000,
    )


def stored_map() -> tuple[list[tuple], list[tuple]]:
    rows = LedgerObjectHead.objects.order_by("object_type", "object_id").values_list(
        "object_type", "object_id", "bucket", "count", "head_sequence"
    )
    tiles = LedgerHeadsTile.objects.values_list("index", "hashes", "root")
    return list(rows), sorted((index, bytes(hashes), bytes(root)) for index, hashes, root in tiles)


def signed_root(checkpoint: LedgerCheckpoint) -> bytes:
    statement = json.loads(bytes(checkpoint.statement))
    assert signing_keys.verify(canonical_bytes(statement), bytes(checkpoint.signature), signing_keys.public_key_bytes())
    return bytes.fromhex(statement[heads.STATEMENT_FIELD])


def test_each_checkpoint_signs_the_heads_root_the_entries_give() -> None:
    append_about(("tests.a", "1"), ("tests.a", "2"), ("tests.a", "1"), ("tests.b", "1"))
    first = ledger_checkpoint_create()
    append_about(("tests.a", "1"), ("tests.c", "ü 7"))
    second = ledger_checkpoint_create()

    for checkpoint in (first, second):
        assert signed_root(checkpoint) == heads.root_from_entries(checkpoint.tree_size)
    assert signed_root(first) != signed_root(second)
    head = LedgerObjectHead.objects.get(object_type="tests.a", object_id="1")
    about = LedgerEntry.objects.filter(object_type="tests.a", object_id="1")
    assert (head.count, head.head_sequence) == (3, about.order_by("-sequence").first().sequence)
    assert head.bucket == heads.bucket_of("tests.a", "1")


def test_the_map_advanced_checkpoint_by_checkpoint_is_the_one_built_from_scratch() -> None:
    for round_number in range(4):
        append_about(*[("tests.record", str((round_number * 7 + n) % 11)) for n in range(9)], ("tests.other", "x"))
        ledger_checkpoint_create()
    newest = LedgerCheckpoint.objects.order_by("-tree_size").first()
    advanced = stored_map()

    with transaction.atomic():
        rebuilt_root = heads.rebuild(to_size=newest.tree_size)
        rebuilt = stored_map()
        transaction.set_rollback(True)

    assert rebuilt == advanced
    assert rebuilt_root == heads.stored_root() == signed_root(newest)


def test_a_bucket_proof_proves_its_heads_into_the_signed_root() -> None:
    append_about(("tests.a", "1"), ("tests.b", "2"))
    checkpoint = ledger_checkpoint_create()

    with transaction.atomic():
        read_at, found = heads.scope_heads([("tests.a", "1"), ("tests.none", "9")])
    assert read_at == checkpoint
    root = signed_root(checkpoint)
    for bucket, content in found.items():
        leaf = merkle.leaf_hash(heads.bucket_digest(content["heads"]))
        assert merkle.verify_inclusion(
            leaf_hash=leaf, index=bucket, tree_size=heads.BUCKETS, proof=content["proof"], root=root
        )
    bucket = heads.bucket_of("tests.a", "1")
    assert ["tests.a", "1", 1, 1] in found[bucket]["heads"]
    assert all(head[:2] != ["tests.none", "9"] for content in found.values() for head in content["heads"])
    one_more = [[*head[:2], head[2] + 1, head[3]] for head in found[bucket]["heads"]]
    assert not merkle.verify_inclusion(
        leaf_hash=merkle.leaf_hash(heads.bucket_digest(one_more)),
        index=bucket,
        tree_size=heads.BUCKETS,
        proof=found[bucket]["proof"],
        root=root,
    )


def legacy_checkpoint() -> LedgerCheckpoint:
    """A checkpoint as the portal made them before the heads map: no ``object_heads_root``, no map stored."""
    with transaction.atomic():
        tail = LedgerEntry.objects.order_by("-sequence").values_list("sequence", flat=True).first()
        statement = {
            "kind": STATEMENT_KIND,
            "tree_size": tail,
            "root_hash": store_tiles(tail).root().hex(),
            "created_at": timezone.now(),
            "key_id": signing_keys.key_id(),
        }
        checkpoint = LedgerCheckpoint.objects.create(
            tree_size=tail,
            root_hash=bytes.fromhex(statement["root_hash"]),
            created_at=statement["created_at"],
            key_id=statement["key_id"],
            signature=signing_keys.sign(canonical_bytes(statement)),
            statement=canonical_bytes(statement),
            file_name=file_name_for(tail),
        )
        ledger.append(action=LedgerAction.CHECKPOINT, obj=checkpoint, actor_name="system:checkpoint")
    return checkpoint


def test_a_ledger_from_before_the_map_gets_it_on_the_next_checkpoint_with_nothing_new() -> None:
    append_about(("tests.a", "1"), ("tests.a", "1"), ("tests.b", "1"))
    old = legacy_checkpoint()
    assert heads.statement_root(old) is None
    assert not LedgerObjectHead.objects.exists()

    upgraded = ledger_checkpoint_create()  # only the old checkpoint's own entry is new

    assert upgraded is not None
    assert upgraded.tree_size == old.tree_size + 1
    assert signed_root(upgraded) == heads.root_from_entries(upgraded.tree_size) == heads.stored_root()
    assert LedgerObjectHead.objects.get(object_type="tests.a", object_id="1").count == 2
    assert ledger_checkpoint_create() is None  # and from then on, nothing new is nothing to do


def checkpoint_queries(*, ledger_size: int) -> int:
    entries_in_bulk(ledger_size, objects=500)
    ledger_checkpoint_create()
    entries_in_bulk(10, objects=7)
    ledger_checkpoint_create()
    entries_in_bulk(10, objects=7)
    with CaptureQueriesContext(connection) as queries:
        assert ledger_checkpoint_create() is not None
    return len(queries)


def test_a_checkpoints_queries_do_not_grow_with_the_ledger() -> None:
    small = checkpoint_queries(ledger_size=1_000)
    large = checkpoint_queries(ledger_size=20_000)  # on from the first: 20 times as long

    assert large <= small
    assert small <= 40


@pytest.mark.postgres(reason="a race between two transactions: SQLite serialises writers at BEGIN")
@pytest.mark.django_db(transaction=True)
def test_a_checkpoint_waits_while_a_pack_reads_the_map() -> None:
    append_about(("tests.a", "1"))
    first = ledger_checkpoint_create()
    append_about(("tests.a", "1"))
    reading, release = threading.Event(), threading.Event()
    seen: list[tuple[int, list]] = []

    def pack_read() -> None:
        try:
            with transaction.atomic():
                checkpoint, _found = heads.scope_heads([("tests.a", "1")])
                reading.set()
                release.wait(timeout=30)
                # Read again before letting go: the map still stands at the checkpoint read first.
                bucket = heads.bucket_of("tests.a", "1")
                seen.append((checkpoint.tree_size, heads.heads_in([bucket])[bucket]))
        finally:
            connection.close()

    made: list[LedgerCheckpoint | None] = []

    def checkpoint() -> None:
        try:
            made.append(ledger_checkpoint_create())
        finally:
            connection.close()

    reader = threading.Thread(target=pack_read)
    reader.start()
    assert reading.wait(timeout=30)
    writer = threading.Thread(target=checkpoint)
    writer.start()
    time.sleep(0.5)
    assert not made, "the checkpoint moved the map while a pack was reading it"
    release.set()
    reader.join(timeout=30)
    writer.join(timeout=30)

    assert seen == [(first.tree_size, [["tests.a", "1", 1, 1]])]
    assert made[0] is not None
    assert made[0].tree_size > first.tree_size
    assert LedgerObjectHead.objects.get(object_type="tests.a", object_id="1").count == 2


def test_the_full_verification_holds_the_signed_heads_root_against_the_entries() -> None:
    from audit.verification import verify_chain

    append_about(("tests.a", "1"), ("tests.a", "1"))
    ledger_checkpoint_create()
    assert verify_chain().ok
    # The stored map is derived: edited, the next checkpoint signs what it was told, and verification says so.
    head = LedgerObjectHead.objects.get(object_type="tests.a", object_id="1")
    head.count = 1
    head.save()
    append_about(("tests.a", "1"))
    wrong = ledger_checkpoint_create()

    report = verify_chain()

    assert not report.ok
    assert report.first_broken_sequence == wrong.tree_size
    assert f"the object heads checkpoint {wrong.tree_size} signed" in report.message


def test_an_auditor_reads_the_object_heads_but_cannot_change_them(client, auditor) -> None:
    from django.urls import reverse

    from tests.audit.test_audit_admin import signed_in

    append_about(("tests.a", "41"), ("tests.a", "41"))
    ledger_checkpoint_create()
    head = LedgerObjectHead.objects.get(object_type="tests.a", object_id="41")
    signed_in(client, auditor)

    listing = client.get(reverse("admin:audit_ledgerobjecthead_changelist"))
    page = client.get(reverse("admin:audit_ledgerobjecthead_change", args=[head.pk]))
    changed = client.post(reverse("admin:audit_ledgerobjecthead_change", args=[head.pk]), {"count": "1"})

    assert listing.status_code == 200
    assert b"tests.a" in listing.content
    assert page.status_code == 200
    assert changed.status_code == 403
    head.refresh_from_db()
    assert head.count == 2
