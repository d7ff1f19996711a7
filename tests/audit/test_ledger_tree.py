"""The ledger's Merkle tree kept in stored tiles (``audit.tree``): what is stored is what a computation from scratch
gives, for every tree size up to 300 and for random larger ones; roots and proofs read from it are RFC 9162's (the
naive reference transcribed in ``test_merkle``, and the Certificate Transparency vectors) and verify; a proof costs
a handful of queries however big the ledger."""

import hashlib
import json
import random

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from hypothesis import given, settings
from hypothesis import strategies as st

from audit import merkle, tree
from audit.models import LedgerEntry, LedgerTreeTile
from audit.tree import StoredTree, TileBuilder, store_tiles
from tests.audit.test_merkle import (
    CT_CONSISTENCY_PROOFS,
    CT_INCLUSION_PROOFS,
    CT_LEAVES,
    CT_ROOTS,
    level_by_level_root,
    ref_path,
    ref_proof,
)
from tests.tampering import triggers_lifted

pytestmark = pytest.mark.django_db

#: Entry hashes of a ledger whose tree is all that matters here (no chain: ``test_verify_ledger`` holds those).
ENTRY_HASHES = [hashlib.sha256(f"entry {number}".encode()).digest() for number in range(70_000)]


def leaves_in_ledger(entry_hashes: list[bytes], *, after: int = 0) -> None:
    """Ledger rows whose ``entry_hash`` are the given bytes, numbered on from ``after``: the tree's leaves."""
    now = timezone.now()
    LedgerEntry.objects.bulk_create(
        [
            LedgerEntry(
                sequence=after + offset + 1,
                recorded_at=now,
                actor_name="t",
                action="export",
                canonical=b"{}",
                prev_hash=hashlib.sha256(b"prev %d" % (after + offset)).digest(),
                entry_hash=value,
            )
            for offset, value in enumerate(entry_hashes)
        ],
        batch_size=5_000,
    )


def scratch_tiles(entry_hashes: list[bytes]) -> dict[tuple[int, int], tuple[bytes, bytes]]:
    """Every full tile of the tree over ``entry_hashes``, computed level by level without ``audit.tree``."""
    tiles: dict[tuple[int, int], tuple[bytes, bytes]] = {}
    row = [merkle.leaf_hash(value) for value in entry_hashes]
    level = 0
    while len(row) >= tree.TILE_WIDTH:
        roots = []
        for index in range(len(row) // tree.TILE_WIDTH):
            bottom = row[index * tree.TILE_WIDTH : (index + 1) * tree.TILE_WIDTH]
            roots.append(level_by_level_root(bottom))
            tiles[(level, index)] = (b"".join(bottom), roots[-1])
        row, level = roots, level + 1
    return tiles


def alter_tile(level: int, index: int, hashes: bytes) -> None:
    """What someone able to lift the triggers does to a stored tile."""
    table = LedgerTreeTile._meta.db_table
    with triggers_lifted(table) as cursor:
        cursor.execute(f'UPDATE "{table}" SET hashes = %s WHERE level = %s AND "index" = %s', [hashes, level, index])  # noqa: S608 (the model's own table name)


def stored_tiles() -> dict[tuple[int, int], tuple[bytes, bytes]]:
    return {
        (level, index): (bytes(hashes), bytes(root))
        for level, index, hashes, root in LedgerTreeTile.objects.values_list("level", "index", "hashes", "root")
    }


@pytest.fixture(params=[1, 2, tree.TILE_HEIGHT], ids=lambda height: f"tile height {height}")
def tile_height(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> int:
    """Low tiles give trees of 300 leaves several levels of tiles; the real height is tested too."""
    monkeypatch.setattr(tree, "TILE_HEIGHT", request.param)
    monkeypatch.setattr(tree, "TILE_WIDTH", 1 << request.param)
    return request.param


def assert_proofs_are_the_references(size: int, entry_hashes: list[bytes], indices: set[int]) -> None:
    data = tuple(entry_hashes[:size])
    stored = StoredTree(size)
    root = stored.root()
    assert root == level_by_level_root([merkle.leaf_hash(value) for value in data]), size
    for index in sorted(indices):
        proof = stored.inclusion_proof(index)
        assert proof == ref_path(index, data), (size, index)
        assert merkle.verify_inclusion(
            leaf_hash=merkle.leaf_hash(data[index]), index=index, tree_size=size, proof=proof, root=root
        )
        old_size = index + 1
        old_root = level_by_level_root([merkle.leaf_hash(value) for value in data[:old_size]])
        consistency = stored.consistency_proof(old_size)
        assert consistency == ref_proof(old_size, data), (old_size, size)
        assert merkle.verify_consistency(
            old_size=old_size, new_size=size, old_root=old_root, new_root=root, proof=consistency
        )


# --- The builder, on its own -----------------------------------------------------------------------------------


def test_the_builder_gives_the_root_and_the_full_tiles_of_every_tree_up_to_300(tile_height: int) -> None:
    built: dict[tuple[int, int], tuple[bytes, bytes]] = {}
    builder = TileBuilder(lambda level, index, hashes, root: built.setdefault((level, index), (hashes, root)))
    assert builder.root() == merkle.EMPTY_ROOT
    for size in range(1, 301):
        builder.append(ENTRY_HASHES[size - 1])
        assert builder.root() == level_by_level_root([merkle.leaf_hash(value) for value in ENTRY_HASHES[:size]])
        assert built == scratch_tiles(ENTRY_HASHES[:size]), size


@settings(max_examples=60, deadline=None)
@given(st.lists(st.binary(min_size=0, max_size=40), max_size=140))
def test_the_builders_root_equals_the_tree_hash_after_every_append(leaves: list[bytes]) -> None:
    builder = TileBuilder()
    for count, leaf in enumerate(leaves, start=1):
        builder.append(leaf)
        assert builder.root() == merkle.root(leaves[:count])
    assert builder.size == len(leaves)
    if not leaves:
        assert builder.root() == merkle.EMPTY_ROOT


def test_a_resumed_builder_goes_on_exactly_as_one_that_saw_every_leaf(tile_height: int) -> None:
    leaves_in_ledger(ENTRY_HASHES[:320])
    store_tiles(300)
    for size in (0, 1, 3, 4, 5, 16, 17, 63, 64, 65, 255, 256, 257, 300):
        resumed = TileBuilder.resume(size, StoredTree(size).edge_rows())
        assert resumed.root() == StoredTree(size).root()
        for value in ENTRY_HASHES[size:320]:
            resumed.append(value)
        assert resumed.root() == level_by_level_root([merkle.leaf_hash(value) for value in ENTRY_HASHES[:320]]), size


# --- Stored and read back ---------------------------------------------------------------------------------------


def test_stored_tiles_roots_and_proofs_match_the_reference_for_every_size_up_to_300(tile_height: int) -> None:
    for size in range(1, 301):
        leaves_in_ledger([ENTRY_HASHES[size - 1]], after=size - 1)
        store_tiles(size)  # as a checkpoint after every entry would
        assert stored_tiles() == scratch_tiles(ENTRY_HASHES[:size]), size
        assert_proofs_are_the_references(size, ENTRY_HASHES, {0, size // 2, size - 1})


def test_every_proof_of_trees_at_the_shape_boundaries_is_the_reference(tile_height: int) -> None:
    leaves_in_ledger(ENTRY_HASHES[:300])
    store_tiles(300)
    for size in sorted({1, 2, 3, 4, 5, 7, 8, 9, 15, 16, 17, 63, 64, 65, 255, 256, 257, 300}):
        assert_proofs_are_the_references(size, ENTRY_HASHES, set(range(size)))


def test_proofs_of_many_leaves_at_once_are_each_leafs_proof_as_json(tile_height: int) -> None:
    leaves_in_ledger(ENTRY_HASHES[:300])
    store_tiles(300)
    for size in (1, 2, 3, 5, 7, 8, 9, 100, 255, 256, 257, 300):
        data = tuple(ENTRY_HASHES[:size])
        for indices in ([], [0], [size - 1], list(range(size)), list(range(1, size, 3)), [size // 2, 0, size // 2]):
            written = StoredTree(size).inclusion_proofs_json(indices)
            assert set(written) == set(indices)
            for index in indices:
                assert written[index] == json.dumps([node.hex() for node in ref_path(index, data)]).encode()


def test_the_certificate_transparency_vectors_come_out_of_the_stored_tree() -> None:
    leaves_in_ledger(CT_LEAVES)
    store_tiles(len(CT_LEAVES))
    for size, root in enumerate(CT_ROOTS):
        assert StoredTree(size).root().hex() == root
    for index, size, proof in CT_INCLUSION_PROOFS:
        assert [node.hex() for node in StoredTree(size).inclusion_proof(index)] == proof
    for old_size, size, proof in CT_CONSISTENCY_PROOFS:
        assert [node.hex() for node in StoredTree(size).consistency_proof(old_size)] == proof


def test_random_larger_trees_stored_checkpoint_by_checkpoint_match_a_computation_from_scratch() -> None:
    sizes = [*sorted(random.Random(9162).sample(range(301, len(ENTRY_HASHES) + 1), 4)), len(ENTRY_HASHES)]
    leaves = [merkle.leaf_hash(value) for value in ENTRY_HASHES]
    stored_up_to = 0
    for size in sizes:
        leaves_in_ledger(ENTRY_HASHES[stored_up_to:size], after=stored_up_to)
        built = store_tiles(size)
        root = merkle.root_from_leaf_hashes(leaves[:size])
        assert built.root() == root
        stored = StoredTree(size)
        assert stored.root() == root
        for index in [*random.Random(size).sample(range(size), 20), 0, size - 1]:
            proof = stored.inclusion_proof(index)
            assert merkle.verify_inclusion(leaf_hash=leaves[index], index=index, tree_size=size, proof=proof, root=root)
        if stored_up_to:
            consistency = stored.consistency_proof(stored_up_to)
            old_root = merkle.root_from_leaf_hashes(leaves[:stored_up_to])
            assert merkle.verify_consistency(
                old_size=stored_up_to, new_size=size, old_root=old_root, new_root=root, proof=consistency
            )
        stored_up_to = size
    assert stored_tiles() == scratch_tiles(ENTRY_HASHES)


def test_a_root_or_a_proof_costs_a_few_queries_however_big_the_ledger() -> None:
    leaves_in_ledger(ENTRY_HASHES)
    store_tiles(len(ENTRY_HASHES))  # 273 tiles of level 0, one of level 1, and an unfinished one of level 2
    size = len(ENTRY_HASHES)
    for ask in (
        lambda stored: stored.root(),
        lambda stored: stored.inclusion_proof(12_345),
        lambda stored: stored.inclusion_proof(size - 1),
        lambda stored: stored.consistency_proof(54_321),
    ):
        with CaptureQueriesContext(connection) as queries:
            ask(StoredTree(size))
        assert len(queries) <= 8, [query["sql"] for query in queries]


def test_storing_again_stores_nothing_and_storing_on_adds_only_the_new_tiles() -> None:
    leaves_in_ledger(ENTRY_HASHES[:1000])
    store_tiles(1000)
    before = stored_tiles()
    store_tiles(1000)
    assert stored_tiles() == before
    leaves_in_ledger(ENTRY_HASHES[1000:1100], after=1000)
    with CaptureQueriesContext(connection) as queries:
        store_tiles(1100)
    assert stored_tiles() == scratch_tiles(ENTRY_HASHES[:1100])
    assert len(queries) <= 8  # the stored levels, the right edge, the new entries, one insert


def test_a_stored_tile_that_does_not_hash_to_its_root_is_refused_when_read() -> None:
    leaves_in_ledger(ENTRY_HASHES[:600])
    store_tiles(600)
    forged = b"\x00" * merkle.HASH_SIZE + stored_tiles()[(0, 1)][0][merkle.HASH_SIZE :]
    alter_tile(0, 1, forged)
    with pytest.raises(tree.TreeStorageBroken, match="does not hash to its stored root"):
        StoredTree(600).inclusion_proof(300)
