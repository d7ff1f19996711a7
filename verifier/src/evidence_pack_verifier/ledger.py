"""The ledger slice: every entry's hash over its RFC 8785 bytes, the links between entries whose sequence numbers are
consecutive, and every entry's Merkle inclusion proof into the signed checkpoint."""

import hashlib

from evidence_pack_verifier import merkle
from evidence_pack_verifier.formats import GENESIS_HASH, LEDGER, MANIFEST
from evidence_pack_verifier.pack import Pack
from evidence_pack_verifier.report import CheckFailed
from evidence_pack_verifier.trust import Trust


def check_chain(pack: Pack, trust: Trust) -> str:
    rows = pack.ledger
    previous = None
    for row in rows:
        if hashlib.sha256(row.prev_hash + row.canonical).digest() != row.entry_hash:
            raise CheckFailed(f"ledger entry #{row.sequence} does not match its own hash (it was changed)")
        if row.sequence == 1 and row.prev_hash != GENESIS_HASH:
            raise CheckFailed("ledger entry #1 does not start the chain (its prev_hash is not 32 zero bytes)")
        if previous is not None:
            if row.sequence <= previous.sequence:
                raise CheckFailed(f"{LEDGER} line {row.line}: entry #{row.sequence} is out of order")
            if row.sequence == previous.sequence + 1 and row.prev_hash != previous.entry_hash:
                raise CheckFailed(f"ledger entry #{row.sequence} does not link to entry #{previous.sequence}")
        previous = row
    claimed = pack.manifest.get("ledger_slice") or {}
    found = {
        "entries": len(rows),
        "first_sequence": rows[0].sequence if rows else None,
        "last_sequence": rows[-1].sequence if rows else None,
    }
    for name, value in found.items():
        if name in claimed and claimed[name] != value:
            raise CheckFailed(f"{MANIFEST} says the slice's {name} is {claimed[name]}, {LEDGER} has {value}")
    if not rows:
        return f"{LEDGER} holds no entries"
    return f"{len(rows)} entries, #{rows[0].sequence} to #{rows[-1].sequence}, each matching its hash and linked"


def check_inclusion(pack: Pack, trust: Trust) -> str:
    tree_size, root = pack.tree_size, pack.root_hash
    for row in pack.ledger:
        leaf = merkle.leaf_hash(row.entry_hash)
        if merkle.root_from_inclusion_proof(row.sequence - 1, tree_size, leaf, row.inclusion_proof) != root:
            raise CheckFailed(f"ledger entry #{row.sequence} is not included in checkpoint {tree_size} (Merkle proof)")
    return f"{len(pack.ledger)} entries proved into checkpoint {tree_size}"
