"""Merkle tree hashing as RFC 9162 (Certificate Transparency v2), section 2.1, defines it, with SHA-256.

Why this exists: the portal's audit ledger is append-only, and it says so in a way an outsider can check. It
periodically publishes signed checkpoints, each the Merkle root (the RFC's Merkle Tree Hash) over all ledger
entries so far together with the number of entries. With the functions here an auditor who holds a
checkpoint can

* prove that an entry is included in it (an *inclusion proof*, RFC 9162 2.1.3), and
* prove that a later checkpoint extends an earlier one, i.e. that the first ``old_size`` entries were neither
  changed, removed nor reordered when the ledger grew (a *consistency proof*, RFC 9162 2.1.4),

each with about log2(n) hashes instead of the whole ledger.

Hashing follows the RFC exactly, so any other RFC 9162 / RFC 6962 implementation can check our proofs:

* a leaf is hashed as ``SHA-256(0x00 || entry bytes)`` and an interior node as
  ``SHA-256(0x01 || left || right)``. The different prefixes (domain separation) stop an interior node from
  being passed off as a leaf, or the other way round (second-preimage attacks on the tree);
* the tree over ``n > 1`` leaves splits at ``k``, the largest power of two smaller than ``n``: the left
  subtree is always perfect, and the right one holds the rest;
* the empty tree hashes to ``SHA-256(b"")``.

The provers take the raw entry bytes (``leaves``) and hash them here; ``root_from_leaf_hashes`` takes leaf
hashes, because that is what the ledger stores. The verifiers never raise: any malformed or hostile input
(wrong types, negative or absurd sizes, proofs of the wrong length or with elements that are not 32-byte
strings) makes them return ``False``. They only accept exact built-in types (``int``, ``bytes``, ``list`` /
``tuple``) so that no user-defined ``__len__``, ``__eq__`` or ``__index__`` runs inside them.

An inclusion proof only binds the leaf to a root *for a given tree size* if that size and that root come
from the same signed checkpoint: for some sizes the same path also fits a bigger tree (e.g. the proof for
leaf 0 of a 3-leaf tree verifies with ``tree_size=4`` against the 3-leaf root). Always take ``tree_size`` and
``root`` from one checkpoint, never from different sources.
"""

import hashlib
from collections.abc import Callable, Iterable, Sequence

__all__ = [
    "EMPTY_ROOT",
    "HASH_SIZE",
    "SubtreeRoot",
    "consistency_proof",
    "consistency_subproof",
    "inclusion_path",
    "inclusion_proof",
    "leaf_hash",
    "node_hash",
    "root",
    "root_from_leaf_hashes",
    "verify_consistency",
    "verify_inclusion",
]

#: Length in bytes of every hash here (SHA-256).
HASH_SIZE = 32

#: The Merkle Tree Hash of the empty tree: SHA-256 of the empty string.
EMPTY_ROOT: bytes = hashlib.sha256(b"").digest()

_LEAF_PREFIX = b"\x00"
_NODE_PREFIX = b"\x01"

#: Tree sizes are unsigned 64-bit numbers in RFC 9162; the verifiers reject anything bigger, which also bounds
#: every loop in them.
_MAX_TREE_SIZE = 2**64 - 1
#: A tree of at most 2**64 - 1 leaves is at most 64 levels deep. An inclusion path has one hash per level; a
#: consistency proof has at most one per level plus the final subtree root. Longer proofs are rejected before
#: any element is looked at.
_MAX_INCLUSION_PROOF_LENGTH = 64
_MAX_CONSISTENCY_PROOF_LENGTH = 65

#: ``(start, end) -> MTH(D[start:end])`` over the tree being proven: how ``inclusion_path`` and ``consistency_subproof``
#: read subtree roots, from the leaves here or from the stored tree (``audit.tree``).
SubtreeRoot = Callable[[int, int], bytes]


def leaf_hash(data: bytes) -> bytes:
    """The hash of one leaf: ``SHA-256(0x00 || data)``."""
    return hashlib.sha256(_LEAF_PREFIX + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """The hash of an interior node: ``SHA-256(0x01 || left || right)``."""
    return hashlib.sha256(_NODE_PREFIX + left + right).digest()


def root(leaves: Sequence[bytes]) -> bytes:
    """The Merkle Tree Hash ``MTH(D[n])`` over the raw leaf data (entry bytes, not yet hashed)."""
    return root_from_leaf_hashes([leaf_hash(data) for data in leaves])


def root_from_leaf_hashes(leaf_hashes: Sequence[bytes]) -> bytes:
    """The Merkle Tree Hash of the tree whose leaves have the given (already computed) leaf hashes.

    Computed iteratively in one pass, O(n) hashes, no recursion, O(log n) memory beyond the input; see
    ``_fold`` for the approach. Suitable for millions of leaves.
    """
    return _fold(leaf_hashes)


def inclusion_proof(leaves: Sequence[bytes], index: int) -> list[bytes]:
    """The audit path ``PATH(index, D[n])`` (RFC 9162 2.1.3.1) for leaf ``index`` of the tree over ``leaves``.

    The path lists the sibling subtree roots from the leaf up to the root. Raises ``ValueError`` if ``index``
    is not in ``0 .. len(leaves) - 1``.
    """
    size = len(leaves)
    index = _as_int(index, "index")
    if not 0 <= index < size:
        raise ValueError(f"index {index} is out of range for a tree of {size} leaves")
    return inclusion_path(_raw_leaves_subtree_root(leaves), size, index)


def consistency_proof(leaves: Sequence[bytes], old_size: int) -> list[bytes]:
    """The consistency proof ``PROOF(old_size, D[n])`` of RFC 9162 2.1.4.1 from the first ``old_size`` leaves
    to all of ``leaves``.

    Returns ``[]`` for ``old_size == 0`` (every tree extends the empty one) and for
    ``old_size == len(leaves)`` (a tree is consistent with itself). Raises ``ValueError`` if ``old_size`` is
    not in ``0 .. len(leaves)``.
    """
    size = len(leaves)
    old_size = _as_int(old_size, "old_size")
    if not 0 <= old_size <= size:
        raise ValueError(f"old_size {old_size} is out of range for a tree of {size} leaves")
    if old_size in (0, size):
        return []
    return consistency_subproof(_raw_leaves_subtree_root(leaves), size, old_size)


def verify_inclusion(*, leaf_hash: bytes, index: int, tree_size: int, proof: Sequence[bytes], root: bytes) -> bool:
    """Whether ``proof`` proves that ``leaf_hash`` is leaf ``index`` of the tree of ``tree_size`` leaves whose
    root is ``root`` (RFC 9162 2.1.3.2). Returns ``False``, never raises, on any malformed input."""
    if not (_is_size(index) and _is_size(tree_size) and index < tree_size):
        return False
    if not (_is_hash(leaf_hash) and _is_hash(root) and _is_proof(proof, _MAX_INCLUSION_PROOF_LENGTH)):
        return False

    fn, sn = index, tree_size - 1
    r = leaf_hash
    for p in proof:
        if sn == 0:  # more proof than levels
            return False
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            if not fn & 1:
                # fn is the last node of its level and has no right sibling: it moves up unchanged until it
                # becomes a right child (or the root of the tree so far).
                while not fn & 1 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    return sn == 0 and r == root


def verify_consistency(
    *, old_size: int, new_size: int, old_root: bytes, new_root: bytes, proof: Sequence[bytes]
) -> bool:
    """Whether ``proof`` proves that the tree of ``new_size`` leaves with root ``new_root`` extends the tree
    of ``old_size`` leaves with root ``old_root`` (RFC 9162 2.1.4.2). Returns ``False``, never raises, on
    any malformed input.

    Special cases, which the RFC's algorithm (defined for ``0 < old_size < new_size``) leaves out:

    * ``old_size == new_size``: only an empty proof, and only if the two roots are equal;
    * ``old_size == 0``: every tree extends the empty tree, so this holds with an empty proof (and only with
      one), provided ``old_root`` really is the empty tree's root ``SHA-256(b"")``.
    """
    if not (_is_size(old_size) and _is_size(new_size) and old_size <= new_size):
        return False
    if not (_is_hash(old_root) and _is_hash(new_root) and _is_proof(proof, _MAX_CONSISTENCY_PROOF_LENGTH)):
        return False

    if old_size == 0:
        return len(proof) == 0 and old_root == EMPTY_ROOT
    if old_size == new_size:
        return len(proof) == 0 and old_root == new_root
    if len(proof) == 0:
        return False

    path = list(proof)
    if old_size & (old_size - 1) == 0:
        # The old tree is a perfect subtree of the new one, and its root is the proof's implicit first node.
        path.insert(0, old_root)

    fn, sn = old_size - 1, new_size - 1
    # The proof starts from the biggest perfect subtree that ends with the old tree's last leaf. Climb to its
    # root: the levels on which the old tree's last node is a right child lie inside it.
    while fn & 1:
        fn >>= 1
        sn >>= 1

    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:  # more proof than levels
            return False
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            if not fn & 1:
                while not fn & 1 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    return sn == 0 and fr == old_root and sr == new_root


# --- Internals -----------------------------------------------------------------------------------------


def _fold(leaf_hashes: Iterable[bytes]) -> bytes:
    """MTH over a stream of leaf hashes, in one pass with a stack of perfect subtree roots.

    After ``count`` leaves the stack holds the roots of the perfect subtrees that make up the RFC tree of
    ``count`` leaves, one per one-bit of ``count``, biggest (leftmost) at the bottom. A new leaf completes as
    many subtrees as ``count`` has trailing zero bits once it is counted, and each completed pair is merged.
    At the end the remaining roots are combined right to left: that is exactly the RFC's split at the largest
    power of two smaller than ``n``, applied recursively to the right-hand part. The stack never holds more
    than log2(n) + 1 hashes.
    """
    stack: list[bytes] = []
    for count, current in enumerate(leaf_hashes, start=1):
        merged = current
        completed = count
        while not completed & 1:
            merged = node_hash(stack.pop(), merged)
            completed >>= 1
        stack.append(merged)
    if not stack:
        return EMPTY_ROOT
    result = stack.pop()
    while stack:
        result = node_hash(stack.pop(), result)
    return result


def _raw_leaves_subtree_root(leaves: Sequence[bytes]) -> SubtreeRoot:
    def subtree_root(start: int, end: int) -> bytes:
        return _fold(leaf_hash(leaves[i]) for i in range(start, end))

    return subtree_root


def _split(size: int) -> int:
    """``k``: the largest power of two smaller than ``size`` (for ``size > 1``)."""
    return 1 << ((size - 1).bit_length() - 1)


def inclusion_path(subtree_root: SubtreeRoot, size: int, index: int) -> list[bytes]:
    """RFC 9162 2.1.3.1 PATH(m, D[n]), unrolled from the top down.

    The RFC's recursion appends the sibling at each level *after* the path below it, so collecting the
    siblings top-down and reversing gives the same list. ``subtree_root`` gives the siblings: hashed from the raw
    leaves (``inclusion_proof``, every leaf but ``index`` hashed once) or read from the stored tree (``audit.tree``).
    """
    siblings: list[bytes] = []
    start, end = 0, size
    while end - start > 1:
        k = _split(end - start)
        if index < start + k:
            siblings.append(subtree_root(start + k, end))
            end = start + k
        else:
            siblings.append(subtree_root(start, start + k))
            start += k
    siblings.reverse()
    return siblings


def consistency_subproof(subtree_root: SubtreeRoot, size: int, old_size: int) -> list[bytes]:
    """RFC 9162 2.1.4.1 SUBPROOF(m, D[n], true) for ``0 < m < n``, unrolled from the top down.

    ``b`` ("this subtree is the old tree itself, whose root the verifier already has") starts true and turns
    false once the descent goes right. The descent stops at the subtree whose leaves are exactly the old
    tree's remaining ``m``; its root is part of the proof only when ``b`` is false.
    """
    tail: list[bytes] = []
    start, end, m, b = 0, size, old_size, True
    while m != end - start:
        k = _split(end - start)
        if m <= k:
            tail.append(subtree_root(start + k, end))
            end = start + k
        else:
            tail.append(subtree_root(start, start + k))
            start += k
            m -= k
            b = False
    tail.reverse()
    return tail if b else [subtree_root(start, end), *tail]


def _as_int(value: int, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int, not {type(value).__name__}")
    return value


def _is_size(value: object) -> bool:
    """A tree size or index: an exact ``int`` (not ``bool``) in ``0 .. 2**64 - 1``."""
    return type(value) is int and 0 <= value <= _MAX_TREE_SIZE


def _is_hash(value: object) -> bool:
    return type(value) is bytes and len(value) == HASH_SIZE


def _is_proof(value: object, max_length: int) -> bool:
    """An exact ``list`` or ``tuple`` of at most ``max_length`` hashes."""
    if not (type(value) is list or type(value) is tuple):
        return False
    return len(value) <= max_length and all(_is_hash(element) for element in value)
