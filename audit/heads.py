"""The object heads map: what a signed checkpoint commits to so that a ledger slice can be proved complete.

An evidence pack carries the ledger entries about the objects of its scope. Each entry is proved into a signed
checkpoint, which proves nothing is *changed*; that nothing was *left out* needs the checkpoint to say, for each
object, how many entries there are about it and which is the newest. So each checkpoint of ``tree_size`` N signs
``object_heads_root``, the root of this map as of N:

* an object is the ``(object_type, object_id)`` pair its entries record; its **head** as of N is
  ``[object_type, object_id, count, head]``: how many entries about it have a sequence up to N, and the largest;
* its **bucket** is the first two bytes (big-endian) of SHA-256 of the RFC 8785 bytes of ``[object_type, object_id]``,
  0 to 65535; a bucket's **digest** is SHA-256 of the RFC 8785 bytes of its objects' heads sorted by type, then id
  (an empty bucket: SHA-256 of ``[]``);
* the **heads tree** is the RFC 9162 Merkle tree (``audit.merkle``) whose 65,536 leaves are the bucket digests, so a
  bucket is proved into the signed root by 16 sibling hashes.

The map is stored as of the newest checkpoint (``LedgerObjectHead``, and the tree's nodes in ``LedgerHeadsNode``),
derived and updated in place: a checkpoint advances it from its new entries (one GROUP BY over them) and rewrites
only the buckets they touched and the 16 nodes above each, so its cost follows the new entries, never the ledger. A
pack reads the heads of its buckets and their proofs as of the same checkpoint: the two take one lock (exclusive for
the checkpoint, shared for packs; SQLite's write lock at BEGIN does the same). ``verify_ledger`` rebuilds the map
from the entries and holds its root against the newest checkpoint's.
"""

import hashlib
import json
from collections.abc import Iterable, Iterator
from typing import Any

from django.db import connection
from django.db.models import Count, Max, Q

from audit import merkle
from audit.canonical import canonical_bytes
from audit.models.ledger import LedgerCheckpoint, LedgerEntry, LedgerHeadsNode, LedgerObjectHead

#: The heads tree's height: 2**16 buckets.
HEIGHT = 16
BUCKETS = 1 << HEIGHT
#: The statement field that carries the heads tree's root (hex); a checkpoint made before the map has none.
STATEMENT_FIELD = "object_heads_root"
#: Fixed key of the PostgreSQL advisory lock that keeps a checkpoint's update and a pack's read of the map apart.
HEADS_LOCK_KEY = 0x48454144  # "HEAD"
#: Rows (or parameters) per query and per insert.
BATCH = 1_000

ObjectKey = tuple[str, str]
#: ``[object_type, object_id, count, head]``, as the bucket digest hashes it.
Head = list[Any]

EMPTY_BUCKET = hashlib.sha256(b"[]").digest()


def _empty_nodes() -> list[bytes]:
    nodes = [merkle.leaf_hash(EMPTY_BUCKET)]
    while len(nodes) <= HEIGHT:
        nodes.append(merkle.node_hash(nodes[-1], nodes[-1]))
    return nodes


#: The node of each level over buckets that are all empty: what a node not stored stands for.
EMPTY_NODES = _empty_nodes()


class HeadsUnavailable(Exception):
    """The newest checkpoint commits to no heads map (it predates them), or the stored map does not match it."""


def bucket_of(object_type: str, object_id: str) -> int:
    return int.from_bytes(hashlib.sha256(canonical_bytes([object_type, object_id])).digest()[:2], "big")


def bucket_digest(heads: Iterable[Head]) -> bytes:
    return hashlib.sha256(canonical_bytes(sorted(list(head) for head in heads))).digest()


def statement_root(checkpoint: LedgerCheckpoint) -> bytes | None:
    """The heads root the checkpoint's signed statement states, or None for a checkpoint made before the map."""
    value = json.loads(bytes(checkpoint.statement)).get(STATEMENT_FIELD)
    return bytes.fromhex(value) if isinstance(value, str) else None


def lock(*, shared: bool) -> None:
    """Inside the caller's transaction: exclusive for a checkpoint's update, shared for a read of the map."""
    if connection.vendor == "postgresql":
        function = "pg_advisory_xact_lock_shared" if shared else "pg_advisory_xact_lock"
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT {function}(%s)", [HEADS_LOCK_KEY])


def _chunks(values: Iterable[Any], size: int = BATCH) -> Iterator[list[Any]]:
    chunk: list[Any] = []
    for value in values:
        chunk.append(value)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _objects_condition(objects: Iterable[ObjectKey]) -> Q:
    by_type: dict[str, list[str]] = {}
    for object_type, object_id in objects:
        by_type.setdefault(object_type, []).append(object_id)
    condition = Q(pk__in=[])
    for object_type, ids in by_type.items():
        condition |= Q(object_type=object_type, object_id__in=sorted(ids))
    return condition


def heads_in(buckets: Iterable[int]) -> dict[int, list[Head]]:
    """The stored heads of each of ``buckets``, sorted as the digest hashes them."""
    found: dict[int, list[Head]] = {}
    for chunk in _chunks(sorted(set(buckets))):
        rows = (
            LedgerObjectHead.objects.filter(bucket__in=chunk)
            .order_by()
            .values_list("bucket", "object_type", "object_id", "count", "head_sequence")
        )
        for bucket, object_type, object_id, count, head in rows:
            found.setdefault(bucket, []).append([object_type, object_id, count, head])
    for heads in found.values():
        heads.sort()
    return found


def _nodes(positions: Iterable[tuple[int, int]]) -> dict[tuple[int, int], bytes]:
    """The stored nodes at ``(level, index)`` positions; a position absent from the answer is an empty subtree's."""
    found: dict[tuple[int, int], bytes] = {}
    for chunk in _chunks(sorted(set(positions))):
        condition = Q(pk__in=[])
        by_level: dict[int, list[int]] = {}
        for level, index in chunk:
            by_level.setdefault(level, []).append(index)
        for level, indices in by_level.items():
            condition |= Q(level=level, index__in=indices)
        for level, index, digest in LedgerHeadsNode.objects.filter(condition).values_list("level", "index", "digest"):
            found[(level, index)] = bytes(digest)
    return found


def stored_root() -> bytes:
    return _nodes([(HEIGHT, 0)]).get((HEIGHT, 0), EMPTY_NODES[HEIGHT])


def _store_nodes(nodes: dict[tuple[int, int], bytes]) -> None:
    rows = [LedgerHeadsNode(level=level, index=index, digest=digest) for (level, index), digest in nodes.items()]
    LedgerHeadsNode.objects.bulk_create(
        rows, batch_size=BATCH, update_conflicts=True, unique_fields=["level", "index"], update_fields=["digest"]
    )


def _rehash(leaves: dict[int, bytes]) -> bytes:
    """Store the new leaf hashes of the changed buckets and every node above them, reading only the siblings that
    did not change; the new root."""
    changed: list[set[int]] = [set(leaves)]
    for _level in range(HEIGHT):
        changed.append({index >> 1 for index in changed[-1]})
    wanted = [
        (level, index ^ 1) for level in range(HEIGHT) for index in changed[level] if index ^ 1 not in changed[level]
    ]
    siblings = _nodes(wanted)
    new: dict[tuple[int, int], bytes] = {(0, index): value for index, value in leaves.items()}

    def node(level: int, index: int) -> bytes:
        return new.get((level, index)) or siblings.get((level, index), EMPTY_NODES[level])

    for level in range(HEIGHT):
        for parent in changed[level + 1]:
            new[(level + 1, parent)] = merkle.node_hash(node(level, 2 * parent), node(level, 2 * parent + 1))
    _store_nodes(new)
    return new[(HEIGHT, 0)]


def advance(*, from_size: int, to_size: int) -> bytes:
    """Bring the stored map from ``from_size`` (the checkpoint it stands at) to ``to_size`` and return its new root.
    Inside the checkpoint's transaction, under ``lock(shared=False)``: one GROUP BY over the new entries, the stored
    heads of the buckets they touch, and the 16 nodes above each such bucket."""
    delta = (
        LedgerEntry.objects.filter(sequence__gt=from_size, sequence__lte=to_size)
        .order_by()
        .values_list("object_type", "object_id")
        .annotate(entries=Count("sequence"), newest=Max("sequence"))
    )
    new = {(object_type, object_id): (entries, newest) for object_type, object_id, entries, newest in delta}
    if not new:
        return stored_root()
    buckets = {key: bucket_of(*key) for key in new}
    by_bucket: dict[int, dict[ObjectKey, Head]] = {bucket: {} for bucket in buckets.values()}
    for bucket, heads in heads_in(by_bucket).items():
        by_bucket[bucket] = {(head[0], head[1]): head for head in heads}
    changed: list[LedgerObjectHead] = []
    for key, (entries, newest) in new.items():
        head = by_bucket[buckets[key]].setdefault(key, [key[0], key[1], 0, 0])
        head[2] += entries
        head[3] = newest
        changed.append(
            LedgerObjectHead(
                object_type=key[0], object_id=key[1], bucket=buckets[key], count=head[2], head_sequence=newest
            )
        )
    LedgerObjectHead.objects.bulk_create(
        changed,
        batch_size=BATCH,
        update_conflicts=True,
        unique_fields=["object_type", "object_id"],
        update_fields=["count", "head_sequence"],
    )
    leaves = {bucket: merkle.leaf_hash(bucket_digest(heads.values())) for bucket, heads in by_bucket.items()}
    return _rehash(leaves)


def rebuild(*, to_size: int) -> bytes:
    """Replace the stored map by one built from every entry up to ``to_size``, and return its root: for a ledger from
    before the map, on its first checkpoint. Memory follows the number of objects, not of entries."""
    LedgerObjectHead.objects.all().delete()
    LedgerHeadsNode.objects.all().delete()
    rows = (
        LedgerEntry.objects.filter(sequence__lte=to_size)
        .order_by()
        .values_list("object_type", "object_id")
        .annotate(entries=Count("sequence"), newest=Max("sequence"))
    )
    digests = [EMPTY_BUCKET] * BUCKETS
    by_bucket: dict[int, list[Head]] = {}
    for chunk in _chunks(rows.iterator(chunk_size=20_000), 20_000):
        heads = []
        for object_type, object_id, entries, newest in chunk:
            bucket = bucket_of(object_type, object_id)
            by_bucket.setdefault(bucket, []).append([object_type, object_id, entries, newest])
            heads.append(
                LedgerObjectHead(
                    object_type=object_type, object_id=object_id, bucket=bucket, count=entries, head_sequence=newest
                )
            )
        LedgerObjectHead.objects.bulk_create(heads, batch_size=BATCH)
    for bucket, heads in by_bucket.items():
        digests[bucket] = bucket_digest(heads)
    level = [merkle.leaf_hash(digest) for digest in digests]
    nodes: dict[tuple[int, int], bytes] = {}
    for height in range(HEIGHT + 1):
        nodes.update({(height, index): node for index, node in enumerate(level) if node != EMPTY_NODES[height]})
        level = [merkle.node_hash(level[i], level[i + 1]) for i in range(0, len(level) - 1, 2)]
    _store_nodes(nodes)
    return nodes.get((HEIGHT, 0), EMPTY_NODES[HEIGHT])


def root_from_entries(up_to: int) -> bytes:
    """The map's root as of ``up_to``, computed from the entries alone (``verify_ledger``'s check of the signed one)."""
    rows = (
        LedgerEntry.objects.filter(sequence__lte=up_to)
        .order_by()
        .values_list("object_type", "object_id")
        .annotate(entries=Count("sequence"), newest=Max("sequence"))
    )
    by_bucket: dict[int, list[Head]] = {}
    for object_type, object_id, entries, newest in rows.iterator(chunk_size=20_000):
        by_bucket.setdefault(bucket_of(object_type, object_id), []).append([object_type, object_id, entries, newest])
    digests = [EMPTY_BUCKET] * BUCKETS
    for bucket, heads in by_bucket.items():
        digests[bucket] = bucket_digest(heads)
    return merkle.root(digests)


def bucket_proofs(buckets: Iterable[int]) -> dict[int, list[bytes]]:
    """Each bucket's RFC 9162 inclusion path in the stored heads tree (16 hashes, nearest the leaf first), from one
    read of the siblings."""
    wanted = sorted(set(buckets))
    nodes = _nodes((level, (bucket >> level) ^ 1) for bucket in wanted for level in range(HEIGHT))

    def subtree_root(start: int, end: int) -> bytes:
        level = (end - start).bit_length() - 1
        return nodes.get((level, start >> level), EMPTY_NODES[level])

    return {bucket: merkle.inclusion_path(subtree_root, BUCKETS, bucket) for bucket in wanted}


def scope_heads(objects: Iterable[ObjectKey]) -> tuple[LedgerCheckpoint, dict[int, dict[str, Any]]]:
    """The newest checkpoint, and for the bucket of each of ``objects`` its heads and its proof into that checkpoint's
    ``object_heads_root``. Call it inside a transaction: it takes the map's shared lock, so no checkpoint moves the map
    between the reads."""
    lock(shared=True)
    checkpoint = LedgerCheckpoint.objects.order_by("-tree_size").first()
    root = statement_root(checkpoint) if checkpoint is not None else None
    if checkpoint is None or root is None:
        raise HeadsUnavailable("The newest ledger checkpoint commits to no object heads: make a new checkpoint.")
    buckets = {bucket_of(object_type, object_id) for object_type, object_id in objects}
    heads = heads_in(buckets)
    proofs = bucket_proofs(buckets)
    found: dict[int, dict[str, Any]] = {}
    for bucket in sorted(buckets):
        leaf = merkle.leaf_hash(bucket_digest(heads.get(bucket, [])))
        if not merkle.verify_inclusion(
            leaf_hash=leaf, index=bucket, tree_size=BUCKETS, proof=proofs[bucket], root=root
        ):
            raise HeadsUnavailable(
                f"The stored object heads of bucket {bucket} do not prove into checkpoint {checkpoint.tree_size}."
            )
        found[bucket] = {"heads": heads.get(bucket, []), "proof": proofs[bucket]}
    return checkpoint, found
