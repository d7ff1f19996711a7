"""The verifier's RFC 9162 inclusion check, written apart from the portal's, accepts every proof the portal's tree
gives and nothing else: another leaf, another position, a proof cut short or one too long. (The tree size is signed
with the root in the checkpoint, so a proof is only ever checked against the root of its own size.)"""

import hashlib

from evidence_pack_verifier import merkle as verifier_merkle

from audit import merkle as portal_merkle


def entry_hashes(count: int) -> list[bytes]:
    return [hashlib.sha256(f"entry {n}".encode()).digest() for n in range(count)]


def test_every_proof_of_the_portals_tree_leads_to_its_root_and_no_other_position_does() -> None:
    for size in range(1, 34):
        leaves = entry_hashes(size)
        root = portal_merkle.root(leaves)
        for index in range(size):
            proof = portal_merkle.inclusion_proof(leaves, index)
            leaf = verifier_merkle.leaf_hash(leaves[index])

            assert verifier_merkle.root_from_inclusion_proof(index, size, leaf, proof) == root, (size, index)
            other_leaf = verifier_merkle.leaf_hash(leaves[(index + 1) % size])
            if size > 1:
                assert verifier_merkle.root_from_inclusion_proof(index, size, other_leaf, proof) != root
                assert verifier_merkle.root_from_inclusion_proof((index + 1) % size, size, leaf, proof) != root
            assert verifier_merkle.root_from_inclusion_proof(index, size, leaf, [*proof, root]) != root
            if proof:
                assert verifier_merkle.root_from_inclusion_proof(index, size, leaf, proof[:-1]) != root


def test_a_position_outside_the_tree_has_no_root() -> None:
    leaf = verifier_merkle.leaf_hash(entry_hashes(1)[0])

    assert verifier_merkle.root_from_inclusion_proof(1, 1, leaf, []) is None
    assert verifier_merkle.root_from_inclusion_proof(-1, 4, leaf, []) is None
    assert verifier_merkle.root_from_inclusion_proof(0, 1, leaf, []) == leaf
