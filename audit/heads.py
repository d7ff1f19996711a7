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

The map is stored as of the newest checkpoint (``LedgerObjectHead``, and the tree in 4,096 tiles of 16 leaf hashes
each, ``LedgerHeadsTile``), derived and updated in place: a checkpoint advances it from its new entries (one GROUP BY
over them) and rewrites only the buckets they touched and their tiles (at most 4,096 rows, whatever it covers), so its
cost follows the new entries, never the ledger. A pack reads the heads of its buckets and their proofs as of the same
checkpoint: the two take one lock (exclusive for the checkpoint, shared for packs; SQLite's write lock at BEGIN does
the same). ``verify_ledger`` rebuilds the map
from the entries and holds its root against the newest checkpoint's.
"""

import hashlib
import json
from collections.abc import Iterable, Iterator
from typing import Any

from django.db import connection
from django.db.models import Count, Max, QuerySet

from audit import merkle
from audit.canonical import canonical_bytes
from audit.models.ledger import LedgerCheckpoint, LedgerEntry, LedgerHeadsTile, LedgerObjectHead

#: The heads tree's height: 2**16 buckets.
HEIGHT = 16
BUCKETS = 1 << HEIGHT
#: The tree is stored as tiles of four levels: 4,096 tiles of 16 buckets' leaf hashes, and their roots.
TILE_HEIGHT = 4
TILE_WIDTH = 1 << TILE_HEIGHT
TILES = BUCKETS // TILE_WIDTH
#: The statement field that carries the heads tree's root (hex); a checkpoint made before the map has none.
STATEMENT_FIELD = "object_heads_root"
#: Fixed key of the PostgreSQL advisory lock that keeps a checkpoint's update and a pack's read of the map apart.
HEADS_LOCK_KEY = 0x48454144  # "HEAD"
#: Positions or buckets asked for in one query.
BATCH = 5_000

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


def _rows(queryset: QuerySet) -> list[tuple]:
    """A ``values_list`` query's rows as the driver returns them: no field converters, which cost more than the query
    for the thousands of rows a checkpoint reads (the columns read here need none but ``bytes()``)."""
    sql, params = queryset.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def _chunks(values: Iterable[Any], size: int = BATCH) -> Iterator[list[Any]]:
    chunk: list[Any] = []
    for value in values:
        chunk.append(value)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def heads_in(buckets: Iterable[int]) -> dict[int, list[Head]]:
    """The stored heads of each of ``buckets``, sorted as the digest hashes them."""
    found: dict[int, list[Head]] = {}
    # SQLite may be built to take no more than 999 parameters a statement.
    for chunk in _chunks(sorted(set(buckets)), BATCH if connection.vendor == "postgresql" else 900):
        rows = (
            LedgerObjectHead.objects.filter(bucket__in=chunk)
            .order_by()
            .values_list("bucket", "object_type", "object_id", "count", "head_sequence")
        )
        for bucket, object_type, object_id, count, head in _rows(rows):
            found.setdefault(bucket, []).append([object_type, object_id, count, head])
    for heads in found.values():
        heads.sort()
    return found


def _perfect_root(nodes: list[bytes]) -> bytes:
    """The root over a power of two of nodes (a tile's leaf hashes, or the tiles' roots)."""
    while len(nodes) > 1:
        nodes = [merkle.node_hash(nodes[i], nodes[i + 1]) for i in range(0, len(nodes), 2)]
    return nodes[0]


def _levels(nodes: list[bytes]) -> list[list[bytes]]:
    """Every level of the perfect tree over ``nodes``, the given ones first."""
    levels = [nodes]
    while len(levels[-1]) > 1:
        below = levels[-1]
        levels.append([merkle.node_hash(below[i], below[i + 1]) for i in range(0, len(below), 2)])
    return levels


def _tiles(indices: Iterable[int]) -> dict[int, list[bytes]]:
    """The leaf hashes of each tile asked for, a tile not stored being all empty buckets'."""
    wanted = sorted(set(indices))
    found = {index: [EMPTY_NODES[0]] * TILE_WIDTH for index in wanted}
    if not wanted:
        return found
    for index, hashes in _rows(
        LedgerHeadsTile.objects.filter(index__in=wanted).order_by().values_list("index", "hashes")
    ):
        raw = bytes(hashes)
        found[index] = [raw[offset : offset + merkle.HASH_SIZE] for offset in range(0, len(raw), merkle.HASH_SIZE)]
        if len(found[index]) != TILE_WIDTH:
            raise HeadsUnavailable(f"stored object heads tile {index} holds {len(found[index])} hashes")
    return found


def _tile_roots() -> list[bytes]:
    roots = [EMPTY_NODES[TILE_HEIGHT]] * TILES
    for index, root in _rows(LedgerHeadsTile.objects.order_by().values_list("index", "root")):
        roots[index] = bytes(root)
    return roots


def stored_root() -> bytes:
    return _perfect_root(_tile_roots())


def _upsert(
    model: type, rows: list[tuple], *, key: tuple[str, ...], values: tuple[str, ...], types: tuple[str, ...]
) -> None:
    """Insert ``rows`` (``key`` columns, then ``values`` columns) into ``model``'s table, overwriting the ``values`` of
    rows already there. One statement a batch: on PostgreSQL the columns go as arrays (``unnest``), since thousands of
    rows a checkpoint spelled out as parameters cost more to build than to write."""
    if not rows:
        return
    quote = connection.ops.quote_name
    table = quote(model._meta.db_table)
    columns = ", ".join(quote(name) for name in (*key, *values))
    conflict = ", ".join(quote(name) for name in key)
    update = ", ".join(f"{quote(name)} = EXCLUDED.{quote(name)}" for name in values)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            arrays = ", ".join(f"%s::{kind}[]" for kind in types)
            sql = (
                f"INSERT INTO {table} ({columns}) SELECT * FROM unnest({arrays}) "  # noqa: S608 (the model's own table)
                f"ON CONFLICT ({conflict}) DO UPDATE SET {update}"
            )
            for chunk in _chunks(rows, 20_000):
                cursor.execute(sql, [list(column) for column in zip(*chunk, strict=True)])
        else:
            marks = ", ".join(["%s"] * len(types))
            sql = (
                f"INSERT INTO {table} ({columns}) VALUES ({marks}) "  # noqa: S608 (the model's own table)
                f"ON CONFLICT ({conflict}) DO UPDATE SET {update}"
            )
            cursor.executemany(sql, rows)


def _store_tiles(tiles: dict[int, list[bytes]]) -> None:
    rows = [(index, b"".join(leaves), _perfect_root(leaves)) for index, leaves in tiles.items()]
    _upsert(LedgerHeadsTile, rows, key=("index",), values=("hashes", "root"), types=("integer", "bytea", "bytea"))


def _store_heads(heads: list[tuple[str, str, int, int, int]]) -> None:
    """``(object_type, object_id, bucket, count, head_sequence)`` rows, new or advanced."""
    _upsert(
        LedgerObjectHead,
        heads,
        key=("object_type", "object_id"),
        values=("bucket", "count", "head_sequence"),
        types=("varchar", "varchar", "integer", "bigint", "bigint"),
    )


def _rehash(leaves: dict[int, bytes]) -> bytes:
    """Store the new leaf hashes of the changed buckets in their tiles, and return the tree's new root."""
    tiles = _tiles(bucket >> TILE_HEIGHT for bucket in leaves)
    for bucket, value in leaves.items():
        tiles[bucket >> TILE_HEIGHT][bucket % TILE_WIDTH] = value
    _store_tiles(tiles)
    return stored_root()


def advance(*, from_size: int, to_size: int) -> bytes:
    """Bring the stored map from ``from_size`` (the checkpoint it stands at) to ``to_size`` and return its new root.
    Inside the checkpoint's transaction, under ``lock(shared=False)``: one GROUP BY over the new entries, the stored
    heads of the buckets they touch, and the tiles those buckets lie in."""
    delta = (
        LedgerEntry.objects.filter(sequence__gt=from_size, sequence__lte=to_size)
        .order_by()
        .values_list("object_type", "object_id")
        .annotate(entries=Count("sequence"), newest=Max("sequence"))
    )
    new = {(object_type, object_id): (entries, newest) for object_type, object_id, entries, newest in _rows(delta)}
    if not new:
        return stored_root()
    buckets = {key: bucket_of(*key) for key in new}
    by_bucket: dict[int, dict[ObjectKey, Head]] = {bucket: {} for bucket in buckets.values()}
    for bucket, heads in heads_in(by_bucket).items():
        by_bucket[bucket] = {(head[0], head[1]): head for head in heads}
    changed: list[tuple[str, str, int, int, int]] = []
    for key, (entries, newest) in new.items():
        head = by_bucket[buckets[key]].setdefault(key, [key[0], key[1], 0, 0])
        head[2] += entries
        head[3] = newest
        changed.append((key[0], key[1], buckets[key], head[2], newest))
    _store_heads(changed)
    leaves = {bucket: merkle.leaf_hash(bucket_digest(heads.values())) for bucket, heads in by_bucket.items()}
    return _rehash(leaves)


def _heads_from_entries(up_to: int) -> Iterator[tuple[int, Head]]:
    """Every object's bucket and head as of ``up_to``, from one GROUP BY over the entries, streamed."""
    rows = (
        LedgerEntry.objects.filter(sequence__lte=up_to)
        .order_by()
        .values_list("object_type", "object_id")
        .annotate(entries=Count("sequence"), newest=Max("sequence"))
    )
    for object_type, object_id, entries, newest in rows.iterator(chunk_size=20_000):
        yield bucket_of(object_type, object_id), [object_type, object_id, entries, newest]


def _leaf_hashes(by_bucket: dict[int, list[Head]]) -> list[bytes]:
    digests = [EMPTY_BUCKET] * BUCKETS
    for bucket, heads in by_bucket.items():
        digests[bucket] = bucket_digest(heads)
    return [merkle.leaf_hash(digest) for digest in digests]


def rebuild(*, to_size: int) -> bytes:
    """Replace the stored map by one built from every entry up to ``to_size``, and return its root: for a ledger from
    before the map, on its first checkpoint. Memory follows the number of objects, not of entries."""
    LedgerObjectHead.objects.all().delete()
    LedgerHeadsTile.objects.all().delete()
    by_bucket: dict[int, list[Head]] = {}
    for chunk in _chunks(_heads_from_entries(to_size), 20_000):
        for bucket, head in chunk:
            by_bucket.setdefault(bucket, []).append(head)
        _store_heads([(head[0], head[1], bucket, head[2], head[3]) for bucket, head in chunk])
    leaves = _leaf_hashes(by_bucket)
    tiles = {
        index: leaves[index * TILE_WIDTH : (index + 1) * TILE_WIDTH]
        for index in sorted({bucket >> TILE_HEIGHT for bucket in by_bucket})
    }
    _store_tiles(tiles)
    return stored_root()


def root_from_entries(up_to: int) -> bytes:
    """The map's root as of ``up_to``, computed from the entries alone (``verify_ledger``'s check of the signed one)."""
    by_bucket: dict[int, list[Head]] = {}
    for bucket, head in _heads_from_entries(up_to):
        by_bucket.setdefault(bucket, []).append(head)
    return _perfect_root(_leaf_hashes(by_bucket))


def bucket_proofs(buckets: Iterable[int]) -> dict[int, list[bytes]]:
    """Each bucket's RFC 9162 inclusion path in the stored heads tree (16 hashes, nearest the leaf first), from two
    reads: the buckets' tiles and the tiles' roots."""
    wanted = sorted(set(buckets))
    tiles = {index: _levels(leaves) for index, leaves in _tiles(bucket >> TILE_HEIGHT for bucket in wanted).items()}
    above = _levels(_tile_roots())

    def subtree_root(start: int, end: int) -> bytes:
        level = (end - start).bit_length() - 1
        if level >= TILE_HEIGHT:
            return above[level - TILE_HEIGHT][start >> level]
        tile = start >> TILE_HEIGHT
        return tiles[tile][level][(start % TILE_WIDTH) >> level]

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
