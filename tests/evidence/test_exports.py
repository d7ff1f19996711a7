"""The batched inclusion proofs of a pack's ledger slice are the RFC 9162 audit paths, for any tree size."""

import hashlib

from evidence.exports import inclusion_proofs
from governance import merkle


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
