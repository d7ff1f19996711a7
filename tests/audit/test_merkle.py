"""Merkle tree hashing for the audit ledger's checkpoints (RFC 9162 section 2.1).

Three kinds of evidence that the implementation is the RFC's and nothing else:

* known answers: hand-computed trees and the Certificate Transparency test vectors (the RFC 6962 reference
  leaves, whose roots and proofs every CT implementation reproduces);
* a naive reference written straight from the RFC's recursive definitions (MTH, PATH, PROOF/SUBPROOF), and an
  exhaustive comparison with it;
* properties: any tampering with a proof, and any malformed or hostile input, makes the verifiers say
  ``False`` without raising.
"""

import hashlib
from collections.abc import Callable, Sequence
from functools import cache
from typing import Any

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from audit import merkle
from audit.merkle import (
    EMPTY_ROOT,
    consistency_proof,
    inclusion_proof,
    leaf_hash,
    node_hash,
    root,
    root_from_leaf_hashes,
    verify_consistency,
    verify_inclusion,
)


def sha256(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


# --- The reference: RFC 9162 2.1.1, 2.1.3.1 and 2.1.4.1, transcribed -------------------------------------
# Deliberately naive: recursion on tuples, slicing, no shared code with the implementation. ``ref_mth`` is
# memoised only so the exhaustive loops below stay fast; the definitions are the RFC's word for word.


def largest_power_of_two_below(n: int) -> int:
    """k, "the largest power of two smaller than n" (n > 1)."""
    k = 1
    while k * 2 < n:
        k *= 2
    return k


@cache
def ref_mth(d: tuple[bytes, ...]) -> bytes:
    """MTH(D[n])."""
    n = len(d)
    if n == 0:
        return sha256(b"")
    if n == 1:
        return sha256(b"\x00" + d[0])
    k = largest_power_of_two_below(n)
    return sha256(b"\x01" + ref_mth(d[0:k]) + ref_mth(d[k:n]))


def ref_path(m: int, d: tuple[bytes, ...]) -> list[bytes]:
    """PATH(m, D[n])."""
    n = len(d)
    if n == 1:
        return []
    k = largest_power_of_two_below(n)
    if m < k:
        return [*ref_path(m, d[0:k]), ref_mth(d[k:n])]
    return [*ref_path(m - k, d[k:n]), ref_mth(d[0:k])]


def ref_subproof(m: int, d: tuple[bytes, ...], b: bool) -> list[bytes]:
    """SUBPROOF(m, D[n], b)."""
    n = len(d)
    if m == n:
        return [] if b else [ref_mth(d)]
    k = largest_power_of_two_below(n)
    if m <= k:
        return [*ref_subproof(m, d[0:k], b), ref_mth(d[k:n])]
    return [*ref_subproof(m - k, d[k:n], False), ref_mth(d[0:k])]


def ref_proof(m: int, d: tuple[bytes, ...]) -> list[bytes]:
    """PROOF(m, D[n]); the RFC defines it for 0 < m < n, and both ends are trivially consistent."""
    if m in (0, len(d)):
        return []
    return ref_subproof(m, d, True)


def level_by_level_root(leaf_hashes: Sequence[bytes]) -> bytes:
    """MTH computed another way: pair up each level, an unpaired last node moves up unchanged."""
    if not leaf_hashes:
        return sha256(b"")
    level = list(leaf_hashes)
    while len(level) > 1:
        paired = [sha256(b"\x01" + level[i] + level[i + 1]) for i in range(0, len(level) - 1, 2)]
        if len(level) % 2:
            paired.append(level[-1])
        level = paired
    return level[0]


# --- Test data ---------------------------------------------------------------------------------------------

MAX_SIZE = 300
#: Distinct entries, so no two subtrees share a hash by accident.
LEAVES: tuple[bytes, ...] = tuple(f"ledger entry {i}".encode() for i in range(MAX_SIZE))


def tree(size: int) -> tuple[bytes, ...]:
    return LEAVES[:size]


@cache
def tree_root(size: int) -> bytes:
    return ref_mth(tree(size))


def boundary_positions(n: int) -> list[int]:
    """Positions 0..n where the shape of a tree of n leaves changes: the ends, the middle, both sides of every
    power of two, and both sides of the boundaries between the perfect subtrees the tree is made of."""
    candidates = {0, 1, 2, n // 2, n - 2, n - 1, n}
    power = 1
    while power <= n:
        candidates |= {power - 1, power, power + 1}
        power *= 2
    boundary = 0
    for bit in reversed(range(n.bit_length())):
        if n >> bit & 1:
            boundary += 1 << bit
            candidates |= {boundary - 1, boundary, boundary + 1}
    return sorted(p for p in candidates if 0 <= p <= n)


def flip_bit(data: bytes, bit: int) -> bytes:
    flipped = bytearray(data)
    flipped[bit // 8] ^= 1 << (bit % 8)
    return bytes(flipped)


# Certificate Transparency test vectors: the leaves, the root of every prefix, and proofs over them.
CT_LEAVES = [
    bytes.fromhex(h)
    for h in [
        "",
        "00",
        "10",
        "2021",
        "3031",
        "40414243",
        "5051525354555657",
        "606162636465666768696a6b6c6d6e6f",
    ]
]
CT_ROOTS = [
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
]
# (leaf index, tree size, proof)
CT_INCLUSION_PROOFS = [
    (0, 1, []),
    (
        0,
        8,
        [
            "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
        ],
    ),
    (
        5,
        8,
        [
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ],
    ),
    (2, 3, ["fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"]),
    (
        1,
        5,
        [
            "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        ],
    ),
]
# (old size, new size, proof)
CT_CONSISTENCY_PROOFS = [
    (1, 1, []),
    (
        1,
        8,
        [
            "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
        ],
    ),
    (
        6,
        8,
        [
            "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ],
    ),
    (
        2,
        5,
        [
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        ],
    ),
    (
        6,
        7,
        [
            "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ],
    ),
]


# --- Known answers -----------------------------------------------------------------------------------------


def test_the_empty_tree_hashes_to_sha256_of_nothing() -> None:
    assert root([]) == hashlib.sha256(b"").digest()
    assert root_from_leaf_hashes([]) == hashlib.sha256(b"").digest()
    assert hashlib.sha256(b"").digest() == EMPTY_ROOT


def test_a_single_leaf_tree_hashes_to_its_leaf_hash() -> None:
    assert root([b"entry"]) == leaf_hash(b"entry") == sha256(b"\x00entry")


def test_a_three_leaf_tree_pairs_the_first_two_and_adds_the_third_on_the_right() -> None:
    a, b, c = (sha256(b"\x00" + data) for data in (b"a", b"b", b"c"))
    expected = sha256(b"\x01" + sha256(b"\x01" + a + b) + c)

    assert root([b"a", b"b", b"c"]) == expected
    assert root_from_leaf_hashes([a, b, c]) == expected
    # Not the midpoint split, and not a duplicated last leaf as in other Merkle tree designs.
    assert expected != sha256(b"\x01" + a + sha256(b"\x01" + b + c))
    assert expected != sha256(b"\x01" + sha256(b"\x01" + a + b) + sha256(b"\x01" + c + c))


def test_leaf_and_node_hashes_are_domain_separated() -> None:
    left, right = sha256(b"left"), sha256(b"right")

    assert leaf_hash(b"data") == sha256(b"\x00data")
    assert node_hash(left, right) == sha256(b"\x01" + left + right)
    # The same 64 bytes hashed as a leaf and as an interior node never give the same hash.
    assert leaf_hash(left + right) != node_hash(left, right)
    assert leaf_hash(b"") == sha256(b"\x00") != sha256(b"")


@pytest.mark.parametrize("size", range(len(CT_LEAVES) + 1))
def test_roots_match_the_certificate_transparency_test_vectors(size: int) -> None:
    expected = bytes.fromhex(CT_ROOTS[size])

    assert root(CT_LEAVES[:size]) == expected
    assert root_from_leaf_hashes([leaf_hash(data) for data in CT_LEAVES[:size]]) == expected
    assert ref_mth(tuple(CT_LEAVES[:size])) == expected


@pytest.mark.parametrize(("index", "size", "expected"), CT_INCLUSION_PROOFS)
def test_inclusion_proofs_match_the_certificate_transparency_test_vectors(
    index: int, size: int, expected: list[str]
) -> None:
    proof = inclusion_proof(CT_LEAVES[:size], index)

    assert [h.hex() for h in proof] == expected
    assert ref_path(index, tuple(CT_LEAVES[:size])) == proof
    assert verify_inclusion(
        leaf_hash=leaf_hash(CT_LEAVES[index]),
        index=index,
        tree_size=size,
        proof=proof,
        root=bytes.fromhex(CT_ROOTS[size]),
    )


@pytest.mark.parametrize(("old_size", "new_size", "expected"), CT_CONSISTENCY_PROOFS)
def test_consistency_proofs_match_the_certificate_transparency_test_vectors(
    old_size: int, new_size: int, expected: list[str]
) -> None:
    proof = consistency_proof(CT_LEAVES[:new_size], old_size)

    assert [h.hex() for h in proof] == expected
    assert ref_proof(old_size, tuple(CT_LEAVES[:new_size])) == proof
    assert verify_consistency(
        old_size=old_size,
        new_size=new_size,
        old_root=bytes.fromhex(CT_ROOTS[old_size]),
        new_root=bytes.fromhex(CT_ROOTS[new_size]),
        proof=proof,
    )


# --- Agreement with the reference ---------------------------------------------------------------------------
# Producing one proof hashes the whole tree, so checking every index of every size up to 300 costs ~n^3/3
# hashes (about 30 s). Every index / old size is checked exhaustively for all trees of up to 128 leaves
# (every shape up to seven levels deep); for 129..300 leaves every size is checked at the positions where the
# shape changes (`boundary_positions`), and hypothesis checks random positions of random sizes up to 300.

EXHAUSTIVE_SIZE = 128


def test_root_matches_the_reference_for_every_size_up_to_300() -> None:
    for size in range(MAX_SIZE + 1):
        expected = ref_mth(tree(size))
        assert root(tree(size)) == expected, size
        assert root_from_leaf_hashes([leaf_hash(data) for data in tree(size)]) == expected, size


def assert_inclusion_proof_is_the_reference_and_verifies(size: int, index: int) -> None:
    proof = inclusion_proof(tree(size), index)
    assert proof == ref_path(index, tree(size)), (size, index)
    assert verify_inclusion(
        leaf_hash=leaf_hash(LEAVES[index]), index=index, tree_size=size, proof=proof, root=tree_root(size)
    ), (size, index)


def assert_consistency_proof_is_the_reference_and_verifies(old_size: int, new_size: int) -> None:
    proof = consistency_proof(tree(new_size), old_size)
    assert proof == ref_proof(old_size, tree(new_size)), (old_size, new_size)
    assert verify_consistency(
        old_size=old_size,
        new_size=new_size,
        old_root=tree_root(old_size),
        new_root=tree_root(new_size),
        proof=proof,
    ), (old_size, new_size)


def test_inclusion_proof_of_every_leaf_of_every_small_tree_is_the_reference_and_verifies() -> None:
    for size in range(1, EXHAUSTIVE_SIZE + 1):
        for index in range(size):
            assert_inclusion_proof_is_the_reference_and_verifies(size, index)


def test_inclusion_proofs_at_the_shape_boundaries_of_every_tree_up_to_300_are_the_reference() -> None:
    for size in range(EXHAUSTIVE_SIZE + 1, MAX_SIZE + 1):
        for index in boundary_positions(size):
            if index < size:
                assert_inclusion_proof_is_the_reference_and_verifies(size, index)


def test_consistency_proof_from_every_prefix_of_every_small_tree_is_the_reference_and_verifies() -> None:
    for new_size in range(EXHAUSTIVE_SIZE + 1):
        for old_size in range(new_size + 1):
            assert_consistency_proof_is_the_reference_and_verifies(old_size, new_size)


def test_consistency_proofs_at_the_shape_boundaries_of_every_tree_up_to_300_are_the_reference() -> None:
    for new_size in range(EXHAUSTIVE_SIZE + 1, MAX_SIZE + 1):
        for old_size in boundary_positions(new_size):
            assert_consistency_proof_is_the_reference_and_verifies(old_size, new_size)


@st.composite
def leaf_positions(draw: st.DrawFn, min_size: int = 1) -> tuple[int, int]:
    """(tree size, leaf index)."""
    size = draw(st.integers(min_size, MAX_SIZE))
    return size, draw(st.integers(0, size - 1))


@st.composite
def tree_extensions(draw: st.DrawFn, strict: bool = True) -> tuple[int, int]:
    """(old size, new size); with ``strict`` 0 < old size < new size, where proofs are not empty."""
    if strict:
        new_size = draw(st.integers(2, MAX_SIZE))
        return draw(st.integers(1, new_size - 1)), new_size
    new_size = draw(st.integers(0, MAX_SIZE))
    return draw(st.integers(0, new_size)), new_size


@settings(max_examples=300, deadline=None)
@given(leaf_positions())
def test_inclusion_proof_of_any_leaf_of_any_tree_up_to_300_is_the_reference(
    position: tuple[int, int],
) -> None:
    assert_inclusion_proof_is_the_reference_and_verifies(*position)


@settings(max_examples=300, deadline=None)
@given(tree_extensions(strict=False))
def test_consistency_proof_between_any_trees_up_to_300_is_the_reference(sizes: tuple[int, int]) -> None:
    assert_consistency_proof_is_the_reference_and_verifies(*sizes)


@settings(max_examples=50, deadline=None)
@given(st.lists(st.binary(max_size=64), max_size=70))
def test_any_leaf_contents_give_the_reference_root_and_proofs(leaves: list[bytes]) -> None:
    data = tuple(leaves)
    assert root(data) == ref_mth(data)
    for index in range(len(data)):
        assert inclusion_proof(data, index) == ref_path(index, data)
    for old_size in range(len(data) + 1):
        assert consistency_proof(data, old_size) == ref_proof(old_size, data)


def test_root_of_100_000_leaf_hashes_matches_a_level_by_level_computation() -> None:
    leaf_hashes = [sha256(b"\x00" + i.to_bytes(4, "big")) for i in range(100_000)]

    assert root_from_leaf_hashes(leaf_hashes) == level_by_level_root(leaf_hashes)


# --- Provers: arguments out of range ------------------------------------------------------------------------


@pytest.mark.parametrize(("size", "index"), [(0, 0), (1, 1), (5, 5), (5, 17), (5, -1)])
def test_inclusion_proof_for_an_index_outside_the_tree_is_refused(size: int, index: int) -> None:
    with pytest.raises(ValueError, match="out of range"):
        inclusion_proof(tree(size), index)


@pytest.mark.parametrize(("size", "old_size"), [(0, 1), (5, 6), (5, -1)])
def test_consistency_proof_from_a_size_outside_the_tree_is_refused(size: int, old_size: int) -> None:
    with pytest.raises(ValueError, match="out of range"):
        consistency_proof(tree(size), old_size)


@pytest.mark.parametrize("size", [0, 1, 2, 7])
def test_consistency_proof_from_the_empty_tree_or_to_the_same_tree_is_empty(size: int) -> None:
    assert consistency_proof(tree(size), 0) == []
    assert consistency_proof(tree(size), size) == []


# --- Verifiers: special cases -------------------------------------------------------------------------------


def test_the_only_leaf_of_a_one_leaf_tree_is_proven_by_an_empty_proof() -> None:
    only = leaf_hash(b"entry")

    assert verify_inclusion(leaf_hash=only, index=0, tree_size=1, proof=[], root=only)
    assert not verify_inclusion(leaf_hash=only, index=0, tree_size=1, proof=[], root=EMPTY_ROOT)
    assert not verify_inclusion(leaf_hash=only, index=0, tree_size=1, proof=[only], root=only)


def test_nothing_is_included_in_the_empty_tree() -> None:
    assert not verify_inclusion(leaf_hash=EMPTY_ROOT, index=0, tree_size=0, proof=[], root=EMPTY_ROOT)


def test_a_tree_is_consistent_with_itself_only_with_an_empty_proof_and_equal_roots() -> None:
    r5, r6 = tree_root(5), tree_root(6)

    assert verify_consistency(old_size=5, new_size=5, old_root=r5, new_root=r5, proof=[])
    assert not verify_consistency(old_size=5, new_size=5, old_root=r5, new_root=r6, proof=[])
    assert not verify_consistency(old_size=5, new_size=5, old_root=r5, new_root=r5, proof=[r5])
    assert verify_consistency(old_size=0, new_size=0, old_root=EMPTY_ROOT, new_root=EMPTY_ROOT, proof=[])


@pytest.mark.parametrize("new_size", [0, 1, 2, 5, MAX_SIZE])
def test_every_tree_extends_the_empty_tree_with_an_empty_proof_only(new_size: int) -> None:
    new_root = tree_root(new_size)

    assert verify_consistency(old_size=0, new_size=new_size, old_root=EMPTY_ROOT, new_root=new_root, proof=[])
    assert not verify_consistency(
        old_size=0, new_size=new_size, old_root=EMPTY_ROOT, new_root=new_root, proof=[EMPTY_ROOT]
    )
    # A checkpoint of size 0 must carry the empty tree's root.
    assert not verify_consistency(
        old_size=0, new_size=new_size, old_root=sha256(b"not empty"), new_root=new_root, proof=[]
    )


def test_an_empty_proof_does_not_prove_that_a_bigger_tree_extends_a_smaller_one() -> None:
    assert not verify_consistency(old_size=1, new_size=2, old_root=tree_root(1), new_root=tree_root(2), proof=[])


def test_a_tree_does_not_extend_a_bigger_one() -> None:
    proof = consistency_proof(tree(8), 5)

    assert not verify_consistency(old_size=8, new_size=5, old_root=tree_root(8), new_root=tree_root(5), proof=proof)


def test_an_inclusion_proof_binds_the_tree_size_only_together_with_its_root() -> None:
    # Leaf 0 of a 3-leaf tree has the same path shape as leaf 0 of a 4-leaf tree, so the 3-leaf proof also
    # "verifies" with tree_size=4 against the 3-leaf root. Harmless as long as the size and the root come
    # from the same signed checkpoint: against the 4-leaf tree's own root it fails.
    proof = inclusion_proof(tree(3), 0)
    args = {"leaf_hash": leaf_hash(LEAVES[0]), "index": 0, "proof": proof}

    assert verify_inclusion(**args, tree_size=3, root=tree_root(3))
    assert verify_inclusion(**args, tree_size=4, root=tree_root(3))
    assert not verify_inclusion(**args, tree_size=4, root=tree_root(4))


# --- Trees as big as RFC 9162 allows -----------------------------------------------------------------------
# A tree of identical leaves needs no leaves to be hashed: a subtree's root depends only on its size. That
# gives genuine proofs for trees of up to 2**64 - 1 leaves, built with the module's own top-down provers,
# which shows the verifiers' size and proof-length limits never reject a genuine proof.

MAX_TREE_SIZE = 2**64 - 1


@cache
def uniform_root(size: int) -> bytes:
    if size == 1:
        return leaf_hash(b"same entry")
    k = largest_power_of_two_below(size)
    return node_hash(uniform_root(k), uniform_root(size - k))


def uniform_subtree_root(start: int, end: int) -> bytes:
    return uniform_root(end - start)


@settings(max_examples=100, deadline=None)
@given(st.data())
def test_genuine_proofs_in_trees_of_up_to_2_to_the_64_leaves_verify(data: st.DataObject) -> None:
    size = data.draw(st.one_of(st.just(MAX_TREE_SIZE), st.integers(2, MAX_TREE_SIZE)))
    index = data.draw(st.one_of(st.just(size - 1), st.integers(0, size - 1)))
    old_size = data.draw(st.one_of(st.just(size - 1), st.integers(1, size - 1)))

    path = merkle.inclusion_path(uniform_subtree_root, size, index)
    subproof = merkle.consistency_subproof(uniform_subtree_root, size, old_size)

    assert len(path) <= merkle._MAX_INCLUSION_PROOF_LENGTH
    assert len(subproof) <= merkle._MAX_CONSISTENCY_PROOF_LENGTH
    assert verify_inclusion(leaf_hash=uniform_root(1), index=index, tree_size=size, proof=path, root=uniform_root(size))
    assert verify_consistency(
        old_size=old_size,
        new_size=size,
        old_root=uniform_root(old_size),
        new_root=uniform_root(size),
        proof=subproof,
    )


def test_tree_sizes_beyond_64_bits_are_rejected() -> None:
    assert not verify_inclusion(
        leaf_hash=uniform_root(1), index=0, tree_size=2**64, proof=[uniform_root(1)] * 64, root=EMPTY_ROOT
    )
    assert not verify_consistency(
        old_size=1, new_size=2**64, old_root=uniform_root(1), new_root=EMPTY_ROOT, proof=[EMPTY_ROOT]
    )


def test_a_proof_longer_than_any_tree_allows_is_rejected() -> None:
    huge = [EMPTY_ROOT] * 1_000_000

    assert not verify_inclusion(leaf_hash=EMPTY_ROOT, index=0, tree_size=MAX_TREE_SIZE, proof=huge, root=EMPTY_ROOT)
    assert not verify_consistency(
        old_size=1, new_size=MAX_TREE_SIZE, old_root=EMPTY_ROOT, new_root=EMPTY_ROOT, proof=huge
    )


# --- Tampered proofs are rejected ---------------------------------------------------------------------------


@st.composite
def inclusion_cases(draw: st.DrawFn, min_size: int = 1) -> dict[str, Any]:
    """The keyword arguments of a genuine, verifying inclusion proof."""
    size, index = draw(leaf_positions(min_size=min_size))
    return {
        "leaf_hash": leaf_hash(LEAVES[index]),
        "index": index,
        "tree_size": size,
        "proof": inclusion_proof(tree(size), index),
        "root": tree_root(size),
    }


@st.composite
def consistency_cases(draw: st.DrawFn) -> dict[str, Any]:
    """The keyword arguments of a genuine, verifying, non-empty consistency proof (0 < old < new)."""
    old_size, new_size = draw(tree_extensions())
    return {
        "old_size": old_size,
        "new_size": new_size,
        "old_root": tree_root(old_size),
        "new_root": tree_root(new_size),
        "proof": consistency_proof(tree(new_size), old_size),
    }


HASHES = st.binary(min_size=32, max_size=32)
MUTATIONS = settings(max_examples=200, deadline=None)


@MUTATIONS
@given(inclusion_cases(min_size=2), st.data())
def test_inclusion_proof_with_a_flipped_bit_is_rejected(case: dict[str, Any], data: st.DataObject) -> None:
    assert verify_inclusion(**case)
    proof = list(case["proof"])
    position = data.draw(st.integers(0, len(proof) - 1))
    proof[position] = flip_bit(proof[position], data.draw(st.integers(0, 255)))

    assert not verify_inclusion(**{**case, "proof": proof})


@MUTATIONS
@given(consistency_cases(), st.data())
def test_consistency_proof_with_a_flipped_bit_is_rejected(case: dict[str, Any], data: st.DataObject) -> None:
    assert verify_consistency(**case)
    proof = list(case["proof"])
    position = data.draw(st.integers(0, len(proof) - 1))
    proof[position] = flip_bit(proof[position], data.draw(st.integers(0, 255)))

    assert not verify_consistency(**{**case, "proof": proof})


@MUTATIONS
@given(inclusion_cases(min_size=2), st.data())
def test_inclusion_proof_with_an_element_removed_is_rejected(case: dict[str, Any], data: st.DataObject) -> None:
    proof = list(case["proof"])
    del proof[data.draw(st.integers(0, len(proof) - 1))]

    assert not verify_inclusion(**{**case, "proof": proof})


@MUTATIONS
@given(inclusion_cases(min_size=2), st.data())
def test_truncated_inclusion_proof_is_rejected(case: dict[str, Any], data: st.DataObject) -> None:
    proof = case["proof"]
    truncated = proof[: data.draw(st.integers(0, len(proof) - 1))]

    assert not verify_inclusion(**{**case, "proof": truncated})


@MUTATIONS
@given(consistency_cases(), st.data())
def test_consistency_proof_with_an_element_removed_is_rejected(case: dict[str, Any], data: st.DataObject) -> None:
    proof = list(case["proof"])
    del proof[data.draw(st.integers(0, len(proof) - 1))]

    assert not verify_consistency(**{**case, "proof": proof})


@MUTATIONS
@given(consistency_cases(), st.data())
def test_truncated_consistency_proof_is_rejected(case: dict[str, Any], data: st.DataObject) -> None:
    proof = case["proof"]
    truncated = proof[: data.draw(st.integers(0, len(proof) - 1))]

    assert not verify_consistency(**{**case, "proof": truncated})


@MUTATIONS
@given(inclusion_cases(), st.data())
def test_inclusion_proof_with_an_extra_element_is_rejected(case: dict[str, Any], data: st.DataObject) -> None:
    proof = list(case["proof"])
    extra = data.draw(st.one_of(HASHES, st.sampled_from([case["root"], case["leaf_hash"], EMPTY_ROOT])))
    proof.insert(data.draw(st.integers(0, len(proof))), extra)

    assert not verify_inclusion(**{**case, "proof": proof})


@MUTATIONS
@given(consistency_cases(), st.data())
def test_consistency_proof_with_an_extra_element_is_rejected(case: dict[str, Any], data: st.DataObject) -> None:
    proof = list(case["proof"])
    extra = data.draw(st.one_of(HASHES, st.sampled_from([case["old_root"], case["new_root"], proof[0]])))
    proof.insert(data.draw(st.integers(0, len(proof))), extra)

    assert not verify_consistency(**{**case, "proof": proof})


@MUTATIONS
@given(inclusion_cases(min_size=2), st.data())
def test_inclusion_proof_for_another_index_is_rejected(case: dict[str, Any], data: st.DataObject) -> None:
    other = data.draw(st.integers(0, case["tree_size"] - 1).filter(lambda i: i != case["index"]))

    assert not verify_inclusion(**{**case, "index": other})


@MUTATIONS
@given(inclusion_cases(), st.integers(0, MAX_SIZE))
def test_inclusion_proof_checked_against_another_tree_size_and_its_root_is_rejected(
    case: dict[str, Any], other_size: int
) -> None:
    assume(other_size != case["tree_size"])

    assert not verify_inclusion(**{**case, "tree_size": other_size, "root": tree_root(other_size)})


@MUTATIONS
@given(inclusion_cases(), st.data())
def test_inclusion_proof_for_another_leaf_is_rejected(case: dict[str, Any], data: st.DataObject) -> None:
    index = case["index"]
    entry = LEAVES[index]
    wrong = data.draw(
        st.one_of(
            st.sampled_from(LEAVES).filter(lambda other: other != entry).map(leaf_hash),
            st.just(sha256(entry)),  # the entry hashed without the leaf prefix
            st.just(node_hash(entry, entry)),
            st.just(case["root"]) if case["tree_size"] > 1 else st.just(EMPTY_ROOT),
            HASHES,
        )
    )
    assume(wrong != case["leaf_hash"])

    assert not verify_inclusion(**{**case, "leaf_hash": wrong})


@MUTATIONS
@given(inclusion_cases(), HASHES)
def test_inclusion_proof_against_another_root_is_rejected(case: dict[str, Any], wrong_root: bytes) -> None:
    assume(wrong_root != case["root"])

    assert not verify_inclusion(**{**case, "root": wrong_root})


@MUTATIONS
@given(consistency_cases())
def test_consistency_proof_with_swapped_roots_is_rejected(case: dict[str, Any]) -> None:
    swapped = {**case, "old_root": case["new_root"], "new_root": case["old_root"]}

    assert not verify_consistency(**swapped)


@MUTATIONS
@given(consistency_cases(), HASHES, st.booleans())
def test_consistency_proof_against_another_root_is_rejected(
    case: dict[str, Any], wrong_root: bytes, replace_old: bool
) -> None:
    key = "old_root" if replace_old else "new_root"
    assume(wrong_root != case[key])

    assert not verify_consistency(**{**case, key: wrong_root})


@MUTATIONS
@given(consistency_cases(), st.integers(0, MAX_SIZE))
def test_consistency_proof_checked_against_another_old_size_and_its_root_is_rejected(
    case: dict[str, Any], other_size: int
) -> None:
    assume(other_size != case["old_size"])

    assert not verify_consistency(**{**case, "old_size": other_size, "old_root": tree_root(other_size)})


@MUTATIONS
@given(consistency_cases(), st.integers(0, MAX_SIZE))
def test_consistency_proof_checked_against_another_new_size_and_its_root_is_rejected(
    case: dict[str, Any], other_size: int
) -> None:
    assume(other_size != case["new_size"])

    assert not verify_consistency(**{**case, "new_size": other_size, "new_root": tree_root(other_size)})


def wrong_length_versions(element: bytes) -> st.SearchStrategy[object]:
    """The element with a byte missing or added, emptied, doubled, or in another (bytes-like) type."""
    wrong_length = [element[:-1], element + b"\x00", b"\x00" + element, b"", element * 2, element[:16]]
    wrong_type = [bytearray(element), memoryview(element), element.hex(), list(element), None]
    return st.sampled_from([*wrong_length, *wrong_type])


@MUTATIONS
@given(inclusion_cases(min_size=2), st.data())
def test_inclusion_proof_with_an_element_of_the_wrong_length_or_type_is_rejected(
    case: dict[str, Any], data: st.DataObject
) -> None:
    proof: list[object] = list(case["proof"])
    position = data.draw(st.integers(0, len(proof) - 1))
    proof[position] = data.draw(wrong_length_versions(case["proof"][position]))

    assert not verify_inclusion(**{**case, "proof": proof})


@MUTATIONS
@given(consistency_cases(), st.data())
def test_consistency_proof_with_an_element_of_the_wrong_length_or_type_is_rejected(
    case: dict[str, Any], data: st.DataObject
) -> None:
    proof: list[object] = list(case["proof"])
    position = data.draw(st.integers(0, len(proof) - 1))
    proof[position] = data.draw(wrong_length_versions(case["proof"][position]))

    assert not verify_consistency(**{**case, "proof": proof})


@settings(max_examples=50, deadline=None)
@given(inclusion_cases(), consistency_cases())
def test_proofs_given_as_tuples_verify_too(inclusion: dict[str, Any], consistency: dict[str, Any]) -> None:
    assert verify_inclusion(**{**inclusion, "proof": tuple(inclusion["proof"])})
    assert verify_consistency(**{**consistency, "proof": tuple(consistency["proof"])})


# --- Garbage in, False out, never an exception --------------------------------------------------------------

NOT_A_SIZE = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(max_value=-1),
    st.integers(min_value=2**64),
    st.floats(),
    st.decimals(allow_nan=False),
    st.text(),
    st.binary(),
    st.lists(st.integers(), max_size=3),
)
NOT_A_HASH = st.one_of(
    st.none(),
    st.integers(),
    st.text(),
    st.binary().filter(lambda b: len(b) != 32),
    HASHES.map(bytearray),
    HASHES.map(memoryview),
    HASHES.map(bytes.hex),
    HASHES.map(list),
)
NOT_A_PROOF = st.one_of(
    st.none(),
    st.integers(),
    st.text(),
    st.binary(),  # a bytes object is a sequence, but of ints
    st.lists(NOT_A_HASH, min_size=1, max_size=4),
    st.lists(HASHES, max_size=4).map(set),
    st.dictionaries(HASHES, HASHES, max_size=3),
    st.lists(HASHES, max_size=4).map(iter),
)
ANYTHING = st.one_of(
    st.from_type(object),
    NOT_A_SIZE,
    NOT_A_HASH,
    NOT_A_PROOF,
    st.integers(),
    HASHES,
    st.lists(HASHES, max_size=3),
)
GARBAGE = settings(max_examples=300, deadline=None)

INVALID_INCLUSION_ARGUMENT = {
    "leaf_hash": NOT_A_HASH,
    "index": NOT_A_SIZE,
    "tree_size": NOT_A_SIZE,
    "proof": NOT_A_PROOF,
    "root": NOT_A_HASH,
}
INVALID_CONSISTENCY_ARGUMENT = {
    "old_size": NOT_A_SIZE,
    "new_size": NOT_A_SIZE,
    "old_root": NOT_A_HASH,
    "new_root": NOT_A_HASH,
    "proof": NOT_A_PROOF,
}


@GARBAGE
@given(inclusion_cases(), st.data())
def test_verify_inclusion_with_one_malformed_argument_is_false(case: dict[str, Any], data: st.DataObject) -> None:
    name = data.draw(st.sampled_from(sorted(INVALID_INCLUSION_ARGUMENT)))
    garbage = data.draw(INVALID_INCLUSION_ARGUMENT[name])

    assert verify_inclusion(**{**case, name: garbage}) is False


@GARBAGE
@given(consistency_cases(), st.data())
def test_verify_consistency_with_one_malformed_argument_is_false(case: dict[str, Any], data: st.DataObject) -> None:
    name = data.draw(st.sampled_from(sorted(INVALID_CONSISTENCY_ARGUMENT)))
    garbage = data.draw(INVALID_CONSISTENCY_ARGUMENT[name])

    assert verify_consistency(**{**case, name: garbage}) is False


@GARBAGE
@given(leaf_hash=ANYTHING, index=ANYTHING, tree_size=ANYTHING, proof=ANYTHING, root=ANYTHING)
def test_verify_inclusion_never_raises_whatever_it_is_given(
    leaf_hash: Any, index: Any, tree_size: Any, proof: Any, root: Any
) -> None:
    result = verify_inclusion(leaf_hash=leaf_hash, index=index, tree_size=tree_size, proof=proof, root=root)

    assert isinstance(result, bool)


@GARBAGE
@given(old_size=ANYTHING, new_size=ANYTHING, old_root=ANYTHING, new_root=ANYTHING, proof=ANYTHING)
def test_verify_consistency_never_raises_whatever_it_is_given(
    old_size: Any, new_size: Any, old_root: Any, new_root: Any, proof: Any
) -> None:
    result = verify_consistency(old_size=old_size, new_size=new_size, old_root=old_root, new_root=new_root, proof=proof)

    assert isinstance(result, bool)


def _explode(*_args: object, **_kwargs: object) -> Any:
    raise RuntimeError("a verifier ran code supplied by its caller")


class HostileInt(int):
    __index__ = __lt__ = __le__ = __gt__ = __ge__ = __eq__ = __and__ = __rshift__ = __sub__ = _explode


class HostileBytes(bytes):
    __len__ = __eq__ = __ne__ = __add__ = __radd__ = __bytes__ = _explode


class HostileList(list):
    __len__ = __iter__ = __getitem__ = __bool__ = _explode


class HostileTuple(tuple):
    __len__ = __iter__ = __getitem__ = __bool__ = _explode


@pytest.mark.parametrize(
    "replace",
    [
        pytest.param(lambda case: {**case, "index": HostileInt(case["index"])}, id="index"),
        pytest.param(lambda case: {**case, "tree_size": HostileInt(case["tree_size"])}, id="tree_size"),
        pytest.param(lambda case: {**case, "leaf_hash": HostileBytes(case["leaf_hash"])}, id="leaf_hash"),
        pytest.param(lambda case: {**case, "root": HostileBytes(case["root"])}, id="root"),
        pytest.param(lambda case: {**case, "proof": HostileList(case["proof"])}, id="proof-list"),
        pytest.param(lambda case: {**case, "proof": HostileTuple(case["proof"])}, id="proof-tuple"),
        pytest.param(
            lambda case: {**case, "proof": [HostileBytes(element) for element in case["proof"]]},
            id="proof-elements",
        ),
    ],
)
def test_verify_inclusion_runs_no_code_of_hostile_argument_types(
    replace: Callable[[dict[str, Any]], dict[str, Any]],
) -> None:
    case = {
        "leaf_hash": leaf_hash(LEAVES[5]),
        "index": 5,
        "tree_size": 11,
        "proof": inclusion_proof(tree(11), 5),
        "root": tree_root(11),
    }
    assert verify_inclusion(**case)

    assert verify_inclusion(**replace(case)) is False


@pytest.mark.parametrize(
    "replace",
    [
        pytest.param(lambda case: {**case, "old_size": HostileInt(case["old_size"])}, id="old_size"),
        pytest.param(lambda case: {**case, "new_size": HostileInt(case["new_size"])}, id="new_size"),
        pytest.param(lambda case: {**case, "old_root": HostileBytes(case["old_root"])}, id="old_root"),
        pytest.param(lambda case: {**case, "new_root": HostileBytes(case["new_root"])}, id="new_root"),
        pytest.param(lambda case: {**case, "proof": HostileList(case["proof"])}, id="proof-list"),
        pytest.param(lambda case: {**case, "proof": HostileTuple(case["proof"])}, id="proof-tuple"),
        pytest.param(
            lambda case: {**case, "proof": [HostileBytes(element) for element in case["proof"]]},
            id="proof-elements",
        ),
    ],
)
def test_verify_consistency_runs_no_code_of_hostile_argument_types(
    replace: Callable[[dict[str, Any]], dict[str, Any]],
) -> None:
    case = {
        "old_size": 5,
        "new_size": 11,
        "old_root": tree_root(5),
        "new_root": tree_root(11),
        "proof": consistency_proof(tree(11), 5),
    }
    assert verify_consistency(**case)

    assert verify_consistency(**replace(case)) is False
