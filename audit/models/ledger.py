"""The audit ledger: an append-only, hash-chained record of every governed change.

Each entry's ``canonical`` bytes are the RFC 8785 (JCS) serialisation of the whole entry; ``entry_hash`` is
SHA-256(prev_hash || canonical). The other columns repeat fields of ``canonical`` so the admin can filter
by them; ``verify_ledger`` checks that they still agree with the hashed bytes. Rows are written only by
``audit.ledger.append`` and never changed: database triggers refuse UPDATE, DELETE and TRUNCATE.
"""

import json
from typing import Any

from django.conf import settings
from django.db import models
from django.utils.timesince import timesince
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from audit.choices import LedgerAction, StateDifferenceKind

GENESIS_HASH = bytes(32)


class LedgerEntry(models.Model):
    sequence = models.BigIntegerField(_("sequence"), primary_key=True)
    recorded_at = models.DateTimeField(_("recorded at (UTC)"))
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("actor"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,  # people who acted are deactivated, never deleted
        related_name="+",
    )
    actor_name = models.CharField(_("actor name"), max_length=200)
    action = models.CharField(_("action"), max_length=20, choices=LedgerAction.choices)
    object_type = models.CharField(_("object type"), max_length=100, blank=True)
    object_id = models.CharField(_("object id"), max_length=64, blank=True)
    object_label = models.CharField(_("object"), max_length=300, blank=True)
    request_id = models.CharField(_("request id"), max_length=64, blank=True)
    canonical = models.BinaryField(_("canonical bytes"))
    prev_hash = models.BinaryField(_("previous hash"), max_length=32, unique=True)
    entry_hash = models.BinaryField(_("entry hash"), max_length=32, unique=True)

    class Meta:
        # The name it was created with, before the trust core was its own app.
        db_table = "governance_ledgerentry"
        verbose_name = _("ledger entry")
        verbose_name_plural = _("audit ledger")
        ordering = ["-sequence"]
        default_permissions = ("view",)
        indexes = [
            models.Index(fields=["object_type", "object_id", "sequence"], name="ledger_object_idx"),
            models.Index(fields=["actor", "sequence"], name="ledger_actor_idx"),
            models.Index(fields=["action", "sequence"], name="ledger_action_idx"),
            models.Index(fields=["recorded_at"], name="ledger_time_idx"),
        ]
        constraints = [models.CheckConstraint(condition=models.Q(sequence__gte=1), name="ledger_sequence_positive")]

    def __str__(self) -> str:
        return f"#{self.sequence} {self.action} {self.object_label or self.object_type}".strip()

    @property
    def document(self) -> dict[str, Any]:
        """The hashed entry, parsed."""
        return json.loads(bytes(self.canonical))

    @property
    def payload(self) -> dict[str, Any]:
        return self.document.get("payload", {})

    @property
    def entry_hash_hex(self) -> str:
        return bytes(self.entry_hash).hex()

    @property
    def prev_hash_hex(self) -> str:
        return bytes(self.prev_hash).hex()


class LedgerCheckpoint(models.Model):
    """A signed Merkle root over the first ``tree_size`` entries (RFC 9162 tree hash of their entry hashes).

    Also written as a signed JSON file to checkpoint storage, outside the database, so that a rewrite of
    the database (by someone able to drop the triggers) is caught against the copy it cannot reach.
    """

    tree_size = models.BigIntegerField(_("tree size"), unique=True)
    root_hash = models.BinaryField(_("root hash"), max_length=32)
    created_at = models.DateTimeField(_("created at (UTC)"))
    key_id = models.CharField(_("signing key id"), max_length=64)
    signature = models.BinaryField(_("Ed25519 signature"), max_length=64)
    statement = models.BinaryField(_("signed statement"))
    file_name = models.CharField(_("checkpoint file"), max_length=200)

    class Meta:
        # The name it was created with, before the trust core was its own app.
        db_table = "governance_ledgercheckpoint"
        verbose_name = _("ledger checkpoint")
        ordering = ["-tree_size"]
        default_permissions = ("view",)

    def __str__(self) -> str:
        return f"checkpoint @{self.tree_size} {bytes(self.root_hash).hex()[:16]}"

    @property
    def root_hash_hex(self) -> str:
        return bytes(self.root_hash).hex()


class LedgerTreeTile(models.Model):
    """One full tile of the ledger's Merkle tree, stored once so that roots and proofs cost O(log n) reads.

    The tree (RFC 9162, leaves the entries' ``entry_hash``) is cut into tiles as transparency logs cut theirs
    (Certificate Transparency's tlog tiles): a tile of ``level`` L and ``index`` t holds the 256 node hashes of tree
    level 8L numbered 256t to 256t + 255, and every node up to eight levels above them is hashed from those. Level 0
    holds leaf hashes; a higher level's hashes are the roots of the 256 tiles below. ``root`` is the tile's own root
    (the node eight levels up), kept so that the next level's unfinished tile is a range read, not 256 tiles hashed.

    Only full tiles are stored, as checkpoints cover their entries (``audit.tree``); the unfinished right edge is
    hashed from the entries or the roots below when asked for. Append-only like the ledger, and never trusted by
    ``verify_ledger``, which recomputes every tile from the entries and compares.
    """

    level = models.PositiveSmallIntegerField(_("level"))
    index = models.BigIntegerField(_("index"))
    hashes = models.BinaryField(_("node hashes"), max_length=256 * 32)
    root = models.BinaryField(_("tile root"), max_length=32)

    class Meta:
        verbose_name = _("ledger tree tile")
        ordering = ["level", "index"]
        default_permissions = ("view",)
        constraints = [
            models.UniqueConstraint(fields=["level", "index"], name="ledger_tile_position_unique"),
            models.CheckConstraint(condition=models.Q(index__gte=0), name="ledger_tile_index_nonnegative"),
        ]

    def __str__(self) -> str:
        return f"tile {self.level}/{self.index}"


class LedgerObjectHead(models.Model):
    """How many ledger entries there are about one object and the sequence of the newest, as of the newest
    checkpoint: the rows a checkpoint's ``object_heads_root`` commits to (``audit.heads``).

    An object is the ``(object_type, object_id)`` pair its entries record; ``bucket`` (0 to 65535) is the first two
    bytes of SHA-256 of that pair's RFC 8785 bytes. Derived, not evidence: each checkpoint advances the rows from its
    new entries, in its own transaction, and nothing trusts them but through the signed root, which ``verify_ledger``
    recomputes from the entries. So they are updated in place, not append-only.
    """

    object_type = models.CharField(_("object type"), max_length=100)
    object_id = models.CharField(_("object id"), max_length=64)
    bucket = models.PositiveIntegerField(_("bucket"))
    count = models.BigIntegerField(_("entries"))
    head_sequence = models.BigIntegerField(_("newest entry"))

    class Meta:
        verbose_name = _("ledger object head")
        ordering = ["bucket", "object_type", "object_id"]
        default_permissions = ("view",)
        indexes = [models.Index(fields=["bucket"], name="ledger_head_bucket_idx")]
        constraints = [
            models.UniqueConstraint(fields=["object_type", "object_id"], name="ledger_head_object_unique"),
            models.CheckConstraint(condition=models.Q(bucket__lt=65536), name="ledger_head_bucket_range"),
        ]

    def __str__(self) -> str:
        return f"{self.object_type} {self.object_id}: {self.count} up to #{self.head_sequence}"


class LedgerHeadsTile(models.Model):
    """A 4,096th of the object heads tree (``audit.heads``), the RFC 9162 Merkle tree over the 65,536 buckets' digests
    whose root a checkpoint signs as ``object_heads_root``: tile ``index`` holds the leaf hashes of buckets 16 * index
    to 16 * index + 15 and ``root``, the node four levels above them; the tree's top twelve levels are hashed from the
    4,096 roots. A tile of empty buckets only is not stored. Derived like ``LedgerObjectHead``, and as of the same
    checkpoint: a checkpoint rewrites the tiles of the buckets its new entries touched."""

    index = models.PositiveIntegerField(_("index"), unique=True)
    hashes = models.BinaryField(_("leaf hashes"), max_length=16 * 32)
    root = models.BinaryField(_("tile root"), max_length=32)

    class Meta:
        verbose_name = _("ledger object heads tile")
        ordering = ["index"]
        default_permissions = ("view",)
        constraints = [models.CheckConstraint(condition=models.Q(index__lt=4096), name="ledger_heads_tile_range")]

    def __str__(self) -> str:
        return f"heads tile {self.index}"


class LedgerVerification(models.Model):
    """One run of the ledger verification, kept so a failure stays visible until a later run passes."""

    started_at = models.DateTimeField(_("started at (UTC)"))
    finished_at = models.DateTimeField(_("finished at (UTC)"))
    ok = models.BooleanField(_("chain holds"))
    entries_checked = models.BigIntegerField(_("entries checked"))
    checkpoints_checked = models.IntegerField(_("checkpoints checked"))
    first_broken_sequence = models.BigIntegerField(_("first broken sequence"), null=True, blank=True)
    message = models.TextField(_("finding"), blank=True)
    #: Whether this run also replayed the ledger over the governed rows (``verify_ledger --state``, the daily task).
    state_checked = models.BooleanField(_("governed rows replayed"), default=False)
    records_checked = models.BigIntegerField(_("records checked"), default=0)
    state_differences = models.BigIntegerField(_("state differences"), default=0)
    # The tail no checkpoint outside the database covered yet: what could have been rewritten unseen. Runs from
    # before it was measured have none.
    entries_after_checkpoint = models.BigIntegerField(_("entries after the newest checkpoint"), null=True, blank=True)
    newest_checkpoint_size = models.BigIntegerField(_("newest checkpoint (entries)"), null=True, blank=True)
    newest_checkpoint_at = models.DateTimeField(_("newest checkpoint made at (UTC)"), null=True, blank=True)
    #: ``verify_ledger --since-last``: only the entries after ``base_tree_size``, a checkpoint an earlier passing run
    #: verified, and the consistency of the stored tree with it. A full run starts from the first entry.
    since_last = models.BooleanField(_("since the last verified checkpoint"), default=False)
    base_tree_size = models.BigIntegerField(_("verified from checkpoint (entries)"), null=True, blank=True)
    #: The newest checkpoint whose root this run recomputed and found matching: where the next ``--since-last`` starts.
    verified_tree_size = models.BigIntegerField(_("verified up to checkpoint (entries)"), null=True, blank=True)
    tiles_checked = models.BigIntegerField(_("stored tree tiles checked"), default=0)

    class Meta:
        # The name it was created with, before the trust core was its own app.
        db_table = "governance_ledgerverification"
        verbose_name = _("ledger verification")
        ordering = ["-started_at"]
        default_permissions = ("view",)

    def __str__(self) -> str:
        return f"{'OK' if self.ok else 'BROKEN'} {self.started_at:%Y-%m-%d %H:%M}Z"

    def uncovered_tail(self) -> str:
        """The tail no checkpoint outside the database covered when the run started, and how old the newest such
        checkpoint then was: what could have been rewritten without contradicting a stored copy."""
        if self.entries_after_checkpoint is None:
            return ""
        count = self.entries_after_checkpoint
        if self.newest_checkpoint_at is None:
            return ngettext(
                "%(count)s entry, and no checkpoint outside the database.",
                "%(count)s entries, and no checkpoint outside the database.",
                count,
            ) % {"count": count}
        return ngettext(
            "%(count)s entry after the newest checkpoint outside the database (%(size)s entries, made %(age)s "
            "before this run).",
            "%(count)s entries after the newest checkpoint outside the database (%(size)s entries, made %(age)s "
            "before this run).",
            count,
        ) % {
            "count": self.entries_after_checkpoint,
            "size": self.newest_checkpoint_size,
            "age": _age(self.newest_checkpoint_at, self.started_at),
        }


def _age(since: Any, until: Any) -> str:
    """``3 minutes``; under a minute ``less than a minute``, where ``timesince`` would say "0 minutes"."""
    return timesince(since, until) if (until - since).total_seconds() >= 60 else str(_("less than a minute"))


class LedgerStateDifference(models.Model):
    """A governed row that disagrees with what the ledger last recorded of it, found by a verification run
    that replayed the ledger (``audit.state_replay``): a change made around the services, e.g. a plain SQL
    UPDATE by the application's own database role. Kept per record and field so that the promotion gate can ask
    whether a model version's evidence is touched, and so that the landing page can name it."""

    verification = models.ForeignKey(
        LedgerVerification, verbose_name=_("verification"), on_delete=models.CASCADE, related_name="differences"
    )
    kind = models.CharField(_("kind"), max_length=12, choices=StateDifferenceKind.choices)
    object_type = models.CharField(_("object type"), max_length=100)
    object_id = models.CharField(_("object id"), max_length=64)
    object_label = models.CharField(_("object"), max_length=300, blank=True)
    field = models.CharField(_("field"), max_length=200, blank=True)
    ledger_value = models.JSONField(_("as the ledger records it"), null=True, blank=True)
    row_value = models.JSONField(_("as the row holds it"), null=True, blank=True)

    class Meta:
        verbose_name = _("ledger state difference")
        ordering = ["verification", "object_type", "object_id", "field"]
        default_permissions = ("view",)
        indexes = [models.Index(fields=["verification", "object_type", "object_id"], name="ledger_difference_idx")]

    def __str__(self) -> str:
        where = f"{self.object_type} #{self.object_id} {self.object_label}".strip()
        if self.kind == StateDifferenceKind.FIELD:
            return f"{where}: {self.field} is {self.row_value!r}, the ledger says {self.ledger_value!r}"
        return f"{where}: {self.get_kind_display().lower()}"
