"""What deployed models answered, one record per GenAI span, written in batches.

Records are written in bulk and are not governed models: a ledger entry per answer would not survive production
volume. Each accepted batch is one ledger entry instead, carrying its record count and the RFC 9162 Merkle root
over its records (``inference.proofs``), so any record can be proven into the ledger and an altered one fails.

The prompt and the answer are never stored as sent: only keyed HMAC-SHA-256 digests of them (``inference.keys``), so
a pasted answer finds its record without the portal holding the text, a redacted excerpt where the use case allows
one (``inference.redaction``), and the end user only as a keyed pseudonym.
"""

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from inference.choices import AnswerDecision, ResponseClassification
from inference.fields import HexBytesField
from inference.indexes import HashIndex
from registry.choices import Environment


class InferenceBatch(models.Model):
    """The records of one use case accepted from one OTLP request, and the ledger entry that seals them."""

    received_at = models.DateTimeField(_("received at (UTC)"), default=timezone.now)
    use_case = models.ForeignKey(
        "governance.UseCase", verbose_name=_("use case"), on_delete=models.PROTECT, related_name="inference_batches"
    )
    token = models.ForeignKey(
        "accounts.PipelineToken", verbose_name=_("pipeline token"), on_delete=models.PROTECT, related_name="+"
    )
    record_count = models.PositiveIntegerField(_("records"))
    merkle_root = models.CharField(_("Merkle root (SHA-256, hex)"), max_length=64)
    ledger_sequence = models.PositiveBigIntegerField(_("ledger entry"), null=True, blank=True)

    class Meta:
        verbose_name = _("inference batch")
        verbose_name_plural = _("inference batches")
        ordering = ["-received_at", "-id"]

    def __str__(self) -> str:
        return f"Inference batch {self.pk} ({self.record_count} records)"


class InferenceRecord(models.Model):
    """One answer of a deployed model: which version the deployment history says was live in that environment
    when the span started, what the span itself named (flagged when they differ), and the runtime checks.

    On PostgreSQL the table is partitioned by use case and month (``inference.partitions``), and its primary key and
    unique constraints also carry ``use_case_id`` and ``started_at``, as partitioning requires."""

    # No foreign-key constraints in the database (``db_constraint=False``), and no indexes of their own: each would
    # cost every one of millions of rows an index entry and a check at commit, and none is needed. The intake
    # writes every record, after resolving these ids in the same transaction; the rows they name are governed and
    # never deleted (``PROTECT`` still stops the ORM); and the batch's Merkle root in the ledger seals what the
    # record says. The batch index and the period index already serve the batch and the use case,
    # and nothing looks records up by version alone.
    batch = models.ForeignKey(
        InferenceBatch,
        verbose_name=_("batch"),
        on_delete=models.PROTECT,
        related_name="records",
        db_index=False,
        db_constraint=False,
    )
    position = models.PositiveIntegerField(_("position in the batch"))
    use_case = models.ForeignKey(
        "governance.UseCase",
        verbose_name=_("use case"),
        on_delete=models.PROTECT,
        related_name="+",
        db_index=False,
        db_constraint=False,
    )
    environment = models.CharField(_("environment"), max_length=10, choices=Environment.choices)
    model_version = models.ForeignKey(
        "registry.ModelVersion",
        verbose_name=_("model version live"),
        on_delete=models.PROTECT,
        related_name="+",
        null=True,
        blank=True,
        db_index=False,
        db_constraint=False,
    )
    named_version = models.ForeignKey(
        "registry.ModelVersion",
        verbose_name=_("model version the span named"),
        on_delete=models.PROTECT,
        related_name="+",
        null=True,
        blank=True,
        db_index=False,
        db_constraint=False,
    )
    version_mismatch = models.BooleanField(_("named version was not the live one"), default=False)
    # Bytes in the table, hex in Python (``inference.fields``): half the size in the table and its indexes.
    trace_id = HexBytesField(_("trace id"))
    span_id = HexBytesField(_("span id"))
    response_id = models.CharField(_("response id"), max_length=200, blank=True)
    conversation_id = models.CharField(_("conversation id"), max_length=200, blank=True)
    operation = models.CharField(_("operation"), max_length=50)
    request_model = models.CharField(_("requested model"), max_length=200, blank=True)
    response_model = models.CharField(_("responding model"), max_length=200, blank=True)
    started_at = models.DateTimeField(_("started at (UTC)"))
    ended_at = models.DateTimeField(_("ended at (UTC)"), null=True, blank=True)
    input_tokens = models.PositiveIntegerField(_("input tokens"), null=True, blank=True)
    output_tokens = models.PositiveIntegerField(_("output tokens"), null=True, blank=True)
    finish_reasons = models.JSONField(_("finish reasons"), default=list, blank=True)
    prompt_category = models.CharField(_("prompt category"), max_length=100, blank=True)
    policy_checks = models.JSONField(_("policy checks applied"), default=list, blank=True)
    response_classification = models.CharField(
        _("response classification"), max_length=10, choices=ResponseClassification.choices, blank=True
    )
    end_user_pseudonym = HexBytesField(_("end user (keyed pseudonym)"), blank=True)
    prompt_hmac = HexBytesField(_("prompt HMAC-SHA-256"), blank=True)
    answer_hmac = HexBytesField(_("answer HMAC-SHA-256"), blank=True)
    hmac_key_id = models.CharField(_("HMAC key id"), max_length=40, blank=True)
    # Only for use cases allowed excerpts, masked before they are written (``inference.redaction``).
    prompt_excerpt = models.CharField(_("prompt excerpt (redacted)"), max_length=2000, blank=True)
    answer_excerpt = models.CharField(_("answer excerpt (redacted)"), max_length=2000, blank=True)

    class Meta:
        verbose_name = _("inference record")
        ordering = ["-started_at", "-id"]
        constraints = [
            # An exporter retries a request whose answer it lost: the span is recorded once.
            models.UniqueConstraint(fields=["trace_id", "span_id"], name="inference_record_span_unique"),
        ]
        indexes = [
            # A batch's records, for its proofs and its purge. Not unique on the position, which the intake gives
            # and the batch's Merkle root seals: a batch's thousand entries share one key, which PostgreSQL stores
            # once (deduplication), where a unique index holds every key in full.
            models.Index(fields=["batch"], name="inference_batch_idx"),
            # Found by their whole value only: hash indexes of the set values (``inference.indexes``).
            HashIndex(fields=["response_id"], condition=~models.Q(response_id=""), name="inference_response_hash"),
            models.Index(fields=["conversation_id"], name="inference_conversation_idx"),
            HashIndex(fields=["answer_hmac"], condition=~models.Q(answer_hmac=b""), name="inference_answer_hash"),
            # A period's records (a monitoring rollup), and the newest first (the admin's list, an incident's
            # citations). By time alone: on PostgreSQL each partition holds one use case, so the use case would be
            # the same eight bytes in every entry, and a leading use case could not give the newest across them.
            models.Index(fields=["started_at"], name="inference_started_idx"),
            # The reviewers' queue: a use case's escalated answers, oldest first, among millions of others.
            models.Index(
                fields=["use_case", "started_at"],
                condition=models.Q(response_classification=ResponseClassification.ESCALATED),
                name="inference_escalated_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.trace_id}/{self.span_id}"


class InferenceCitation(models.Model):
    """An inference record an incident cites: the answers that raised it (a version mismatch, a monitoring alert).

    By id, trace and span rather than by foreign key: the record table is partitioned on PostgreSQL, which allows no
    foreign key into it, and retention may purge the record while the incident stays; the trace and span still
    name the answer then, and the purge's ledger entry says when it went."""

    incident = models.ForeignKey(
        "registry.Incident", verbose_name=_("incident"), on_delete=models.PROTECT, related_name="inference_citations"
    )
    record_id = models.BigIntegerField(_("inference record"))
    trace_id = models.CharField(_("trace id"), max_length=32)
    span_id = models.CharField(_("span id"), max_length=16)

    class Meta:
        verbose_name = _("inference record cited by an incident")
        verbose_name_plural = _("inference records cited by incidents")
        ordering = ["incident_id", "record_id"]
        constraints = [
            models.UniqueConstraint(fields=["incident", "record_id"], name="inference_citation_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.trace_id}/{self.span_id}"


class AnswerReview(models.Model):
    """A human reviewer's decision on an escalated answer: approved as given, or overridden with a reason.

    One per record, held by a unique constraint, so two reviewers deciding at once cannot both succeed. The record
    is named by id, use case, start time, trace and span rather than by foreign key, as citations name it: the
    record table is partitioned on PostgreSQL, whose key carries ``use_case_id`` and ``started_at``, and retention
    may purge the record while its review stays as evidence. Written once by ``answer_review_decide`` with its
    ledger entry, and never changed."""

    record_id = models.BigIntegerField(_("inference record"))
    use_case = models.ForeignKey(
        "governance.UseCase", verbose_name=_("use case"), on_delete=models.PROTECT, related_name="+"
    )
    record_started_at = models.DateTimeField(_("answer started at (UTC)"))
    trace_id = models.CharField(_("trace id"), max_length=32)
    span_id = models.CharField(_("span id"), max_length=16)
    reviewer = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("reviewer"), on_delete=models.PROTECT, related_name="+"
    )
    decision = models.CharField(_("decision"), max_length=10, choices=AnswerDecision.choices)
    reason = models.TextField(_("reason"), max_length=4000, blank=True)
    decided_at = models.DateTimeField(_("decided at (UTC)"), default=timezone.now)
    ledger_sequence = models.PositiveBigIntegerField(_("ledger entry"), null=True, blank=True)

    class Meta:
        verbose_name = _("answer review")
        ordering = ["-decided_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["record_id"], name="answer_review_one_per_record"),
            models.CheckConstraint(
                condition=models.Q(decision__in=AnswerDecision.values), name="answer_review_decision_valid"
            ),
            # An override without its reason explains nothing to whoever reads the record later.
            models.CheckConstraint(
                condition=~models.Q(decision=AnswerDecision.OVERRIDDEN) | ~models.Q(reason=""),
                name="answer_review_override_has_reason",
            ),
        ]
        indexes = [
            models.Index(fields=["use_case", "record_started_at"], name="answer_review_period_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.get_decision_display()}: {self.trace_id}/{self.span_id}"
