"""The ledger's Merkle tree kept in tiles, so that a root, an inclusion proof or a consistency proof costs O(log n)
reads, whatever the size of the ledger.

The tree is RFC 9162's over the entries' ``entry_hash`` (``audit.merkle``). Rebuilding it from every entry on each
checkpoint and each evidence pack costs seconds at a million entries and grows with the ledger; logs built for
scale (Certificate Transparency's Trillian, transparency-dev's tlog tiles) store the interior nodes once instead.
So does this module, as tlog does:

* A **tile** of level L and index t is the 256 node hashes of tree level 8L numbered 256t .. 256t + 255, together
  with everything up to eight levels above them, which is hashed from them on demand. Level 0 holds leaf hashes;
  the hashes of level L + 1 are the roots of the tiles of level L. Ten million entries make about 39,000 tiles.
* Only **full** tiles are stored (``LedgerTreeTile``, append-only), when a checkpoint covers their entries
  (``store_tiles``). The unfinished tile of each level, at the tree's right edge, is hashed from the entries (level
  0, at most 255) or from the stored roots of the tiles below (one range read).
* A node is read from its tile, and any range of leaves that an RFC 9162 proof names is the combination of at most
  log2(n) such nodes (``StoredTree.subtree_root``), so the RFC's own proof recursions (``audit.merkle``) run over
  stored nodes unchanged.

Nothing here is trusted by ``verify_ledger``: it recomputes every tile from the entries with ``TileBuilder`` (the
same arithmetic, streamed) and compares. An altered stored tile therefore fails verification; before that it can
only make a proof that does not verify, never one that verifies against a signed root it should not.
"""

import hashlib
from collections.abc import Callable, Iterable, Iterator, Sequence
from itertools import groupby

from django.db.models import Max, Q

from audit import merkle
from audit.models.ledger import LedgerEntry, LedgerTreeTile

#: Tree levels per tile, and the hashes in a tile's bottom row, as tlog's tiles have them.
TILE_HEIGHT = 8
TILE_WIDTH = 1 << TILE_HEIGHT

#: Tiles inserted at a time (about 8 MiB).
STORE_BATCH = 1_000

#: ``(level, index, hashes, root)`` of a full tile, as ``TileBuilder`` hands it on.
TileSink = Callable[[int, int, bytes, bytes], None]


class TreeStorageBroken(Exception):
    """The stored tiles cannot serve the tree asked for: one is missing or malformed. ``verify_ledger`` names it."""


def split_hashes(raw: bytes) -> list[bytes]:
    """A tile's ``hashes`` column as its list of 32-byte node hashes."""
    size = merkle.HASH_SIZE
    if len(raw) % size:
        raise TreeStorageBroken(f"a stored tile holds {len(raw)} bytes, not a whole number of hashes")
    return [raw[offset : offset + size] for offset in range(0, len(raw), size)]


def first_leaf(level: int, index: int) -> int:
    """The number (from 0) of the first leaf under tile ``level``/``index``."""
    return index << (TILE_HEIGHT * (level + 1))


class TileBuilder:
    """The tree's tiles and root, built from its leaves in order, one leaf at a time.

    Each level keeps the bottom row of its unfinished tile and, over that row, the stack of perfect subtree roots the
    RFC tree of the row is made of: a leaf costs one leaf hash and, on average, one node hash, and when a row reaches
    256 hashes its stack has folded into the tile's root, which joins the row of the level above. So the root of the
    tree so far is always at hand (the stacks, top level first) and every tile is handed to ``on_tile`` as it fills.
    """

    def __init__(self, on_tile: TileSink | None = None) -> None:
        self.on_tile = on_tile
        self.size = 0
        self.rows: list[list[bytes]] = []
        self.stacks: list[list[bytes]] = []
        self.tiles_done: list[int] = []

    @classmethod
    def resume(cls, size: int, rows: Sequence[Sequence[bytes]], on_tile: TileSink | None = None) -> "TileBuilder":
        """The builder as it stands after ``size`` leaves, given the unfinished tile's bottom row of each level
        (``StoredTree.edge_rows``): the stacks are hashed again from those rows, at most 255 hashes a level."""
        builder = cls(on_tile)
        for level, row in enumerate(rows):
            builder._grow(level)
            builder.tiles_done[level] = size >> (TILE_HEIGHT * (level + 1))
            for node in row:
                builder._push(level, node)
        builder.size = size
        return builder

    def append(self, entry_hash: bytes) -> None:
        """Add the next leaf: an entry's ``entry_hash``, hashed here as the RFC's leaf."""
        self.size += 1
        node = merkle.leaf_hash(entry_hash)
        level = 0
        while self._push(level, node):
            node = self.stacks[level].pop()
            row = self.rows[level]
            if self.on_tile is not None:
                self.on_tile(level, self.tiles_done[level], b"".join(row), node)
            self.tiles_done[level] += 1
            row.clear()
            level += 1

    def root(self) -> bytes:
        """The Merkle Tree Hash of the leaves so far."""
        pieces = [node for level in reversed(range(len(self.stacks))) for node in self.stacks[level]]
        if not pieces:
            return merkle.EMPTY_ROOT
        result = pieces[-1]
        for left in reversed(pieces[:-1]):
            result = merkle.node_hash(left, result)
        return result

    def _grow(self, level: int) -> None:
        while len(self.rows) <= level:
            self.rows.append([])
            self.stacks.append([])
            self.tiles_done.append(0)

    def _push(self, level: int, node: bytes) -> bool:
        """Add ``node`` to ``level``'s row; whether that filled the tile (its stack then holds only its root)."""
        self._grow(level)
        row, stack = self.rows[level], self.stacks[level]
        row.append(node)
        completed = len(row)
        while not completed & 1:
            node = merkle.node_hash(stack.pop(), node)
            completed >>= 1
        stack.append(node)
        return len(row) == TILE_WIDTH


# --- Reading the stored tree ---------------------------------------------------------------------------------


def _entry_hashes(first: int, last: int) -> list[bytes]:
    """The ``entry_hash`` of entries ``first .. last`` (sequence numbers, both included), in order."""
    if last < first:
        return []
    rows = LedgerEntry.objects.filter(sequence__gte=first, sequence__lte=last).order_by("sequence")
    hashes = [bytes(value) for value in rows.values_list("entry_hash", flat=True)]
    if len(hashes) != last - first + 1:
        raise TreeStorageBroken(f"ledger entries #{first} to #{last} are not all there")
    return hashes


def _tile_roots_by_level(ranges: dict[int, tuple[int, int]]) -> dict[int, list[bytes]]:
    """The stored roots of tiles ``first .. last`` of each level ``ranges`` names (``level -> (first, last)``), in one
    query."""
    condition = Q()
    for level, (first, last) in ranges.items():
        condition |= Q(level=level, index__gte=first, index__lte=last)
    found: dict[int, list[tuple[int, bytes]]] = {level: [] for level in ranges}
    for level, index, root in LedgerTreeTile.objects.filter(condition).values_list("level", "index", "root"):
        found[level].append((index, bytes(root)))
    roots: dict[int, list[bytes]] = {}
    for level, (first, last) in ranges.items():
        rows = sorted(found[level])
        if [index for index, _root in rows] != list(range(first, last + 1)):
            raise TreeStorageBroken(f"stored tiles {first} to {last} of level {level} are not all there")
        roots[level] = [root for _index, root in rows]
    return roots


def _pieces(start: int, end: int) -> Iterator[tuple[int, int]]:
    """``(height, index)`` of the perfect subtrees that make up leaves ``start .. end - 1``, left to right: for a range
    an RFC 9162 proof names, its binary decomposition, biggest first."""
    position = start
    while position < end:
        height = (end - position).bit_length() - 1
        if position:
            height = min(height, (position & -position).bit_length() - 1)
        yield height, position >> height
        position += 1 << height


def _tile_of(height: int, index: int) -> tuple[int, int]:
    """``(level, index)`` of the tile that holds node ``height``/``index``."""
    level, within = divmod(height, TILE_HEIGHT)
    return level, (index << within) >> TILE_HEIGHT


class StoredTree:
    """The RFC 9162 tree over the first ``size`` ledger entries, read from the stored tiles.

    Every tile read is kept for the life of the object, with the levels hashed above its bottom row, so proving
    many entries of one tree (an evidence pack's slice) reads and hashes each tile once.
    """

    def __init__(self, size: int) -> None:
        if size < 0:
            raise ValueError("a tree cannot have a negative size")
        self.size = size
        self._levels: dict[tuple[int, int], list[list[bytes]]] = {}
        self._ranges: dict[tuple[int, int], bytes] = {}

    # Nodes ------------------------------------------------------------------------------------------------

    def _complete_in_tile(self, level: int, index: int) -> int:
        """How many bottom-row hashes of tile ``level``/``index`` are complete nodes of this tree."""
        complete_nodes = self.size >> (TILE_HEIGHT * level)
        return max(0, min(TILE_WIDTH, complete_nodes - index * TILE_WIDTH))

    def load(self, positions: Iterable[tuple[int, int]]) -> None:
        """Read the tiles at ``(level, index)`` positions not read yet, in at most three queries whatever their
        number: the full ones from storage, the unfinished right edge of level 0 from the entries and that of the
        levels above from the stored roots below them. Asking for a node in a tile not loaded reads it alone."""
        full: set[tuple[int, int]] = set()
        edges: dict[int, tuple[int, int]] = {}  # level -> (tile index, complete hashes in it)
        for level, index in positions:
            if (level, index) in self._levels:
                continue
            complete = self._complete_in_tile(level, index)
            if complete == TILE_WIDTH:
                full.add((level, index))
            elif complete:
                edges[level] = (index, complete)
        ordered = sorted(full)
        for start in range(0, len(ordered), 1_000):
            wanted = ordered[start : start + 1_000]
            condition = Q()
            for level, indices in groupby(wanted, key=lambda position: position[0]):
                condition |= Q(level=level, index__in=[index for _level, index in indices])
            rows = LedgerTreeTile.objects.filter(condition).values_list("level", "index", "hashes", "root")
            for level, index, hashes, root in rows:
                self._remember_stored(level, index, bytes(hashes), bytes(root))
            missing = set(wanted) - self._levels.keys()
            if missing:
                raise TreeStorageBroken(f"stored tile {'/'.join(map(str, min(missing)))} is missing")
        if 0 in edges:
            index, complete = edges.pop(0)
            first = index * TILE_WIDTH + 1
            self._remember(0, index, [merkle.leaf_hash(value) for value in _entry_hashes(first, first + complete - 1)])
        if edges:
            ranges = {
                level - 1: (index * TILE_WIDTH, index * TILE_WIDTH + complete - 1)
                for level, (index, complete) in edges.items()
            }
            for level, roots in _tile_roots_by_level(ranges).items():
                self._remember(level + 1, edges[level + 1][0], roots)

    def _plan(self, compute: Callable[[Callable[[int, int], bytes]], object]) -> None:
        """Load every tile ``compute`` will read, found by running it once over placeholders: the proofs' recursions
        ask for subtree roots in an order fixed by the tree's shape alone, never by the hashes."""
        wanted: set[tuple[int, int]] = set()

        def record(start: int, end: int) -> bytes:
            for height, index in _pieces(start, end):
                wanted.add(_tile_of(height, index))
            return merkle.EMPTY_ROOT

        compute(record)
        self.load(wanted)

    def _remember(self, level: int, index: int, bottom: list[bytes]) -> list[list[bytes]]:
        """Keep a tile's bottom row (only its nodes complete in this tree) and the levels hashed above it."""
        bottom = bottom[: self._complete_in_tile(level, index)]
        levels = [bottom]
        while len(levels) <= TILE_HEIGHT and len(levels[-1]) > 1:
            below = levels[-1]
            levels.append([merkle.node_hash(below[i], below[i + 1]) for i in range(0, len(below) - 1, 2)])
        self._levels[(level, index)] = levels
        return levels

    def _remember_stored(self, level: int, index: int, hashes: bytes, root: bytes) -> list[list[bytes]]:
        """A stored tile, once it is seen to be whole: 256 hashes that hash to its stored root (which the level above
        holds in turn, up to a signed checkpoint's root)."""
        bottom = split_hashes(hashes)
        if len(bottom) != TILE_WIDTH:
            raise TreeStorageBroken(f"stored tile {level}/{index} holds {len(bottom)} hashes, not {TILE_WIDTH}")
        levels = self._remember(level, index, bottom)
        if len(levels[0]) == TILE_WIDTH and levels[TILE_HEIGHT][0] != root:
            raise TreeStorageBroken(f"stored tile {level}/{index} does not hash to its stored root")
        return levels

    def _tile_levels(self, level: int, index: int) -> list[list[bytes]]:
        if (level, index) not in self._levels:
            self.load([(level, index)])
        return self._levels[(level, index)]

    def node(self, height: int, index: int) -> bytes:
        """The root of the perfect subtree of ``2**height`` leaves starting at leaf ``index << height``, which must
        lie inside the tree."""
        if (index + 1) << height > self.size:
            raise ValueError(f"node {height}/{index} is not complete in a tree of {self.size} leaves")
        tile_level, within = divmod(height, TILE_HEIGHT)
        first_below = index << within  # its first descendant in the tile's bottom row
        tile = first_below >> TILE_HEIGHT
        levels = self._tile_levels(tile_level, tile)
        return levels[within][index - (tile << (TILE_HEIGHT - within))]

    def subtree_root(self, start: int, end: int) -> bytes:
        """``MTH(D[start:end])`` for a range an RFC 9162 proof names (``start`` aligned to the largest power of two
        the range holds): the perfect subtrees it is made of, biggest first, combined right to left."""
        key = (start, end)
        known = self._ranges.get(key)
        if known is not None:
            return known
        pieces = [self.node(height, index) for height, index in _pieces(start, end)]
        result = pieces[-1]
        for left in reversed(pieces[:-1]):
            result = merkle.node_hash(left, result)
        self._ranges[key] = result
        return result

    # What the ledger asks for ---------------------------------------------------------------------------------

    def root(self) -> bytes:
        if not self.size:
            return merkle.EMPTY_ROOT
        self._plan(lambda subtree_root: subtree_root(0, self.size))
        return self.subtree_root(0, self.size)

    def inclusion_proof(self, index: int) -> list[bytes]:
        """RFC 9162 ``PATH(index, D[size])`` of leaf ``index`` (entry ``index + 1``)."""
        if not 0 <= index < self.size:
            raise ValueError(f"index {index} is out of range for a tree of {self.size} leaves")
        self._plan(lambda subtree_root: merkle.inclusion_path(subtree_root, self.size, index))
        return merkle.inclusion_path(self.subtree_root, self.size, index)

    def consistency_proof(self, old_size: int) -> list[bytes]:
        """RFC 9162 ``PROOF(old_size, D[size])``: that this tree extends the tree of its first ``old_size`` leaves."""
        if not 0 <= old_size <= self.size:
            raise ValueError(f"old_size {old_size} is out of range for a tree of {self.size} leaves")
        if old_size in (0, self.size):
            return []
        self._plan(lambda subtree_root: merkle.consistency_subproof(subtree_root, self.size, old_size))
        return merkle.consistency_subproof(self.subtree_root, self.size, old_size)

    def inclusion_proofs_json(self, indices: Iterable[int]) -> dict[int, bytes]:
        """The inclusion proofs of many leaves as JSON arrays of hex strings, written as ``json.dumps`` writes them.

        A leaf's path is its siblings inside the perfect subtree of the tree that holds it, then the path above that
        subtree, which all its leaves share. Built from the top down, as ``merkle.inclusion_proofs_json`` is: each
        node's part of the path is encoded once and shared by the leaves below it.
        """
        wanted = sorted(set(indices))
        if wanted and not 0 <= wanted[0] <= wanted[-1] < self.size:
            raise ValueError(f"leaf index out of range for a tree of {self.size} leaves")
        self.load((0, index >> TILE_HEIGHT) for index in wanted)
        proofs: dict[int, bytes] = {}
        for start, height, above, inside in self._parts_with(wanted):
            offsets = [index - start for index in inside]
            upper = {0: b"".join(b', "' + node.hex().encode() + b'"' for node in above)}
            for level in reversed(range(height)):
                base = start >> level
                upper = {
                    x: b', "' + self.node(level, base + (x ^ 1)).hex().encode() + b'"' + upper[x >> 1]
                    for x in sorted({offset >> level for offset in offsets})
                }
            for offset in offsets:
                proofs[start + offset] = b"[" + upper[offset][2:] + b"]"
        return proofs

    def _parts_with(self, wanted: list[int]) -> Iterator[tuple[int, int, list[bytes], list[int]]]:
        """Each perfect subtree of the tree (one per one-bit of ``size``, biggest first) holding any ``wanted``
        leaf: its first leaf, its height, the path above it (nearest first) and those leaves."""
        parts: list[tuple[int, int]] = []
        start = 0
        for height in reversed(range(self.size.bit_length())):
            if self.size >> height & 1:
                parts.append((start, height))
                start += 1 << height
        lo = 0
        for number, (start, height) in enumerate(parts):
            hi = lo
            while hi < len(wanted) and wanted[hi] < start + (1 << height):
                hi += 1
            if lo < hi:
                right = [self.subtree_root(start + (1 << height), self.size)] if number + 1 < len(parts) else []
                left = [self.node(h, s >> h) for s, h in reversed(parts[:number])]
                yield start, height, right + left, wanted[lo:hi]
            lo = hi

    def edge_rows(self) -> list[list[bytes]]:
        """The bottom row of each level's unfinished tile at this size: what ``TileBuilder.resume`` continues
        from, read as ``load`` reads the right edge (level 0 from the entries, the others from the stored roots of
        the tiles below)."""
        edges: list[tuple[int, int]] = []
        while complete_nodes := self.size >> (TILE_HEIGHT * len(edges)):
            edges.append((len(edges), complete_nodes // TILE_WIDTH))
        self.load(edges)
        return [self._levels[position][0] if position in self._levels else [] for position in edges]


# --- Storing ---------------------------------------------------------------------------------------------


def stored_size() -> int:
    """How many leaves the stored level-0 tiles cover (a multiple of 256); raises if the levels disagree."""
    counts: list[int] = []
    while True:
        top = LedgerTreeTile.objects.filter(level=len(counts)).aggregate(top=Max("index"))["top"]
        if top is None:
            break
        counts.append(top + 1)
    for level in range(1, len(counts)):
        if counts[level] != counts[level - 1] // TILE_WIDTH:
            raise TreeStorageBroken(
                f"{counts[level]} tiles stored at level {level} for {counts[level - 1]} at level {level - 1}"
            )
    return counts[0] * TILE_WIDTH if counts else 0


def store_tiles(up_to: int) -> TileBuilder:
    """Store every tile that the first ``up_to`` entries fill and that is not stored yet; return the builder, which
    holds the root of those entries (``builder.root()``). Inside the caller's transaction: the checkpoint's.

    Costs the entries since the stored tiles end (the new ones, and at most 255 before them) plus a range read per
    level; a database whose ledger predates the stored tree gets all its tiles on its first checkpoint."""
    covered = min(stored_size(), up_to - up_to % TILE_WIDTH)
    new_tiles: list[LedgerTreeTile] = []

    def keep(level: int, index: int, hashes: bytes, root: bytes) -> None:
        new_tiles.append(LedgerTreeTile(level=level, index=index, hashes=hashes, root=root))
        if len(new_tiles) == STORE_BATCH:  # a first checkpoint of millions of entries keeps memory flat
            LedgerTreeTile.objects.bulk_create(new_tiles)
            new_tiles.clear()

    builder = TileBuilder.resume(covered, StoredTree(covered).edge_rows(), on_tile=keep)
    rows = LedgerEntry.objects.filter(sequence__gt=covered, sequence__lte=up_to).order_by("sequence")
    # A server-side cursor on PostgreSQL: a first checkpoint of a ledger from before the stored tree reads millions.
    for entry_hash in rows.values_list("entry_hash", flat=True).iterator(chunk_size=20_000):
        builder.append(bytes(entry_hash))
    if builder.size != up_to:
        raise TreeStorageBroken(f"the ledger holds {builder.size} of the {up_to} entries to store")
    LedgerTreeTile.objects.bulk_create(new_tiles)
    return builder


def tile_digest(hashes: bytes, root: bytes) -> bytes:
    """What ``verify_ledger`` remembers of each tile it recomputes, to hold the stored ones against."""
    return hashlib.sha256(hashes + root).digest()
