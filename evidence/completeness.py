"""The manifest's ``completeness`` section: the rule the ledger slice was selected by, and the signed object heads that
let a verifier prove from the pack alone that the slice holds every entry the rule names (``audit.heads``)."""

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.db import transaction

from audit import heads
from audit.models import LedgerCheckpoint


def inclusion_rule(tree_size: int) -> str:
    """The slice's inclusion rule in words, as the manifest and the integrity page state it."""
    return (
        f"Every ledger entry with a sequence number from 1 to {tree_size} (the entries checkpoint {tree_size} covers) "
        "whose object (object_type, object_id) is one of the objects listed in completeness.objects, and no other "
        "entry. For each of those objects, the checkpoint's object_heads_root commits to how many such entries there "
        "are and the sequence of the newest."
    )


@dataclass
class ScopeHeads:
    """The checkpoint a pack is built against and its ``completeness`` section, read together."""

    checkpoint: LedgerCheckpoint
    section: dict[str, Any]


def scope_heads(objects: Iterable[tuple[str, str]]) -> ScopeHeads:
    """The newest checkpoint and, for ``objects`` (the scope the slice is selected by), the object heads of their
    buckets with each bucket's proof into that checkpoint: one short transaction that no checkpoint interleaves."""
    scope = sorted(set(objects))
    with transaction.atomic():
        checkpoint, buckets = heads.scope_heads(scope)
    return ScopeHeads(
        checkpoint=checkpoint,
        section={
            "rule": inclusion_rule(checkpoint.tree_size),
            "objects": [list(key) for key in scope],
            "buckets": {
                str(bucket): {"heads": found["heads"], "proof": [node.hex() for node in found["proof"]]}
                for bucket, found in buckets.items()
            },
        },
    )
