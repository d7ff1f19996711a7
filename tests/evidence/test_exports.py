"""The batched inclusion proofs of a pack's ledger slice are the RFC 9162 audit paths, for any tree size."""

import hashlib
import json

import pytest

from audit import merkle
from evidence.exports import inclusion_proofs, inclusion_proofs_json


def test_batched_inclusion_proofs_equal_single_proofs_and_verify() -> None:
    for size in (1, 2, 3, 255, 256, 257, 600, 1025):
        leaves = [hashlib.sha256(str(i).encode()).digest() for i in range(size)]
        root = merkle.root(leaves)
        indices = sorted({0, size // 3, size // 2, size - 1})
        proofs = inclusion_proofs(leaves, indices)
        for index in indices:
            assert proofs[index] == merkle.inclusion_proof(leaves, index), (size, index)
            assert merkle.verify_inclusion(
                leaf_hash=merkle.leaf_hash(leaves[index]), index=index, tree_size=size, proof=proofs[index], root=root
            )


def test_proofs_as_json_are_the_batched_proofs_as_json_dumps_writes_them() -> None:
    for size in (1, 2, 3, 7, 8, 9, 255, 256, 257, 1025):
        leaves = [hashlib.sha256(str(i).encode()).digest() for i in range(size)]
        for indices in ([], [0], [size - 1], list(range(size)), list(range(0, size, 3)), [size // 2, 0, size // 2]):
            proofs = inclusion_proofs(leaves, indices)
            written = inclusion_proofs_json(leaves, indices)
            assert set(written) == set(indices)
            for index in indices:
                assert written[index] == json.dumps([node.hex() for node in proofs[index]]).encode(), (size, index)


def test_proving_a_leaf_outside_the_tree_is_refused() -> None:
    leaves = [b"a", b"b", b"c"]
    for index in (-1, 3):
        with pytest.raises(ValueError, match="out of range"):
            inclusion_proofs(leaves, [index])
        with pytest.raises(ValueError, match="out of range"):
            inclusion_proofs_json(leaves, [index])
