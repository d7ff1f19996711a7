"""Whether a pack's ledger slice is complete: every entry about every object of its scope, up to its checkpoint.

The signed checkpoint statement carries ``object_heads_root``, the root of an RFC 9162 Merkle tree over 65,536
buckets. An object ``[object_type, object_id]`` lies in the bucket given by the first two bytes (big-endian) of
SHA-256 of its RFC 8785 bytes; a bucket's leaf is SHA-256 of the RFC 8785 bytes of its objects' heads,
``[object_type, object_id, count, head]`` sorted by type then id (strings compared by code point), hashed as an RFC
9162 leaf; ``count`` is how many ledger entries about the object have a sequence up to the checkpoint's tree size, and
``head`` the largest. The manifest's ``completeness`` section lists the scope's objects and, for each of their buckets,
its heads and the 16 sibling hashes that prove it into that root. So whoever holds the pack's signing key but not the
ledger's checkpoint key cannot drop an entry from the slice: the signed counts would no longer match.

Only the standard library and ``rfc8785``; ``completeness_problem`` never raises on malformed input, and ``check``
is its place in the verifier's ``CHECKS``.
"""

import hashlib
from collections.abc import Sequence
from typing import Any

import rfc8785

from evidence_pack_verifier import merkle
from evidence_pack_verifier.pack import Pack
from evidence_pack_verifier.report import CheckFailed
from evidence_pack_verifier.trust import Trust

__all__ = ["BUCKETS", "STATEMENT_FIELD", "bucket_of", "check", "completeness_problem"]

STATEMENT_FIELD = "object_heads_root"
HEIGHT = 16
BUCKETS = 1 << HEIGHT


def bucket_of(object_type: str, object_id: str) -> int:
    return int.from_bytes(hashlib.sha256(rfc8785.dumps([object_type, object_id])).digest()[:2], "big")


def _leaf(heads: list[list[Any]]) -> bytes:
    return merkle.leaf_hash(hashlib.sha256(rfc8785.dumps(heads)).digest())


def _is_text(value: object) -> bool:
    return type(value) is str


def _is_count(value: object) -> bool:
    return type(value) is int and value >= 1


def _object_name(key: tuple[str, str]) -> str:
    return f"{key[0]} #{key[1]}"


def _bucket_problem(index_text: object, bucket: object, root: bytes) -> tuple[str | None, int, dict]:
    """``(problem, index, {object: (count, head)})`` of one listed bucket."""
    if not (type(index_text) is str and index_text.isdigit() and str(int(index_text)) == index_text):
        return f"bucket {index_text!r} is not a bucket number", -1, {}
    index = int(index_text)
    if index >= BUCKETS:
        return f"bucket {index} is out of range", index, {}
    if type(bucket) is not dict or type(bucket.get("heads")) is not list or type(bucket.get("proof")) is not list:
        return f"bucket {index} is malformed", index, {}
    heads = bucket["heads"]
    found: dict[tuple[str, str], tuple[int, int]] = {}
    for head in heads:
        if not (type(head) is list and len(head) == 4 and _is_text(head[0]) and _is_text(head[1])):
            return f"bucket {index} lists a malformed head", index, {}
        if not (_is_count(head[2]) and _is_count(head[3])):
            return f"bucket {index} lists a malformed head", index, {}
        if bucket_of(head[0], head[1]) != index:
            return (
                f"bucket {index} lists {_object_name((head[0], head[1]))}, which belongs to another bucket",
                index,
                {},
            )
        found[(head[0], head[1])] = (head[2], head[3])
    keys = [(head[0], head[1]) for head in heads]
    if keys != sorted(set(keys)):
        return f"bucket {index} does not list its heads once each, sorted by type and id", index, {}
    proof: list[bytes] = []
    for node in bucket["proof"]:
        try:
            value = bytes.fromhex(node) if type(node) is str else b""
        except ValueError:
            value = b""
        if len(value) != hashlib.sha256().digest_size:
            return f"the proof of bucket {index} is malformed", index, {}
        proof.append(value)
    if len(proof) != HEIGHT:
        return f"the proof of bucket {index} has {len(proof)} hashes, not {HEIGHT}", index, {}
    if merkle.root_from_inclusion_proof(index, BUCKETS, _leaf(heads), proof) != root:
        return f"the object heads of bucket {index} are not those the checkpoint signed", index, {}
    return None, index, found


def completeness_problem(manifest: Any, entries: Sequence[Any], statement: Any) -> str | None:
    """None if the slice holds every ledger entry about every object the manifest's ``completeness`` section lists,
    up to the checkpoint ``statement`` (already verified) states, and no other; otherwise what is wrong, naming the
    first object whose entries are incomplete. ``entries`` are the ``entry`` objects of ``ledger.jsonl``."""
    cannot = "The ledger slice's completeness cannot be proved"
    if type(statement) is not dict or not _is_text(statement.get(STATEMENT_FIELD)):
        return f"{cannot}: the checkpoint commits to no object heads (it was made before they existed)."
    section = manifest.get("completeness") if type(manifest) is dict else None
    if type(section) is not dict:
        return f"{cannot}: the manifest has no completeness section."
    try:
        root = bytes.fromhex(statement[STATEMENT_FIELD])
        tree_size = statement["tree_size"]
    except (KeyError, ValueError):
        return f"{cannot}: the checkpoint's object heads root is malformed."
    if len(root) != hashlib.sha256().digest_size or type(tree_size) is not int:
        return f"{cannot}: the checkpoint's object heads root is malformed."
    objects, buckets = section.get("objects"), section.get("buckets")
    if type(objects) is not list or type(buckets) is not dict:
        return f"{cannot}: the completeness section is malformed."
    scope: list[tuple[str, str]] = []
    for item in objects:
        if not (type(item) is list and len(item) == 2 and _is_text(item[0]) and _is_text(item[1])):
            return f"{cannot}: the completeness section lists a malformed object."
        scope.append((item[0], item[1]))
    signed: dict[int, dict[tuple[str, str], tuple[int, int]]] = {}
    for index_text, bucket in buckets.items():
        problem, index, found = _bucket_problem(index_text, bucket, root)
        if problem is not None:
            return f"The ledger slice is not proved complete: {problem}."
        signed[index] = found

    in_slice: dict[tuple[str, str], set[int]] = {}
    for entry in entries:
        if type(entry) is not dict:
            return "The ledger slice is not proved complete: an entry is malformed."
        key, sequence = (entry.get("object_type"), entry.get("object_id")), entry.get("sequence")
        if not (_is_text(key[0]) and _is_text(key[1]) and _is_count(sequence)):
            return "The ledger slice is not proved complete: an entry is malformed."
        in_slice.setdefault(key, set()).add(sequence)
    listed = set(scope)
    for key, sequences in sorted(in_slice.items()):
        if key not in listed:
            return f"The ledger slice holds entries about {_object_name(key)}, which its scope does not list."
        if max(sequences) > tree_size:
            return f"The ledger slice holds entry #{max(sequences)}, after checkpoint {tree_size}."
    for key in scope:
        bucket = bucket_of(*key)
        if bucket not in signed:
            return f"{cannot}: the manifest carries no object heads for {_object_name(key)} (bucket {bucket})."
        sequences = in_slice.get(key, set())
        if key not in signed[bucket]:
            if sequences:
                return f"The checkpoint records no ledger entries about {_object_name(key)}, yet the slice holds some."
            continue
        count, head = signed[bucket][key]
        if len(sequences) != count or max(sequences, default=0) != head:
            return (
                f"The ledger slice is incomplete for {_object_name(key)}: checkpoint {tree_size} records {count} "
                f"entries about it up to #{head}, the slice holds {len(sequences)}"
                + (f" up to #{max(sequences)}." if sequences else ".")
            )
    return None


def check(pack: Pack, trust: Trust) -> str:
    """The verifier's check: every entry about every object of the pack's scope is in the slice."""
    problem = completeness_problem(pack.manifest, pack.entries, pack.statement)
    if problem is not None:
        raise CheckFailed(problem)
    objects = len(pack.manifest["completeness"]["objects"])
    return f"every ledger entry about the {objects} objects of the scope, up to the checkpoint, is in the slice"
