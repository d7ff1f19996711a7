"""RFC 9162 (Certificate Transparency 2.0) Merkle tree hashing and inclusion proof verification, section 2.1."""

import hashlib
from collections.abc import Sequence


def leaf_hash(data: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def root_from_inclusion_proof(index: int, tree_size: int, leaf: bytes, proof: Sequence[bytes]) -> bytes | None:
    """The root ``proof`` leads to from leaf ``index`` (0-based, its hash ``leaf``) of a tree of ``tree_size``
    leaves, following RFC 9162 section 2.1.3.2 step by step; None if the proof cannot be one for that position."""
    if not 0 <= index < tree_size:
        return None
    fn, sn, result = index, tree_size - 1, leaf
    for node in proof:
        if sn == 0:
            return None
        if fn & 1 or fn == sn:
            result = node_hash(node, result)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            result = node_hash(result, node)
        fn >>= 1
        sn >>= 1
    return result if sn == 0 else None
