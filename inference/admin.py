"""Inference records, batches and the reviews of escalated answers as auditors browse them: read-only, found by the
ids a complaint quotes. Reviewers decide escalated answers beside the trace pages (``evidence.answer_review_admin``)."""

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from audit.admin.governed import ReadOnlyAuditAdmin
from inference.models import AnswerReview, InferenceBatch, InferenceRecord
from inference.selectors import identifier_match


@admin.register(InferenceBatch)
class InferenceBatchAdmin(ReadOnlyAuditAdmin):
    list_display = ("received_at", "use_case", "record_count", "merkle_root", "ledger_sequence", "token")
    list_select_related = ("use_case", "token")
    ordering = ("-received_at", "-id")


@admin.register(InferenceRecord)
class InferenceRecordAdmin(ReadOnlyAuditAdmin):
    list_display = (
        "started_at",
        "use_case",
        "environment",
        "model_version",
        "version_mismatch",
        "response_id",
        "response_classification",
    )
    list_select_related = ("use_case", "model_version")
    raw_id_fields = ("batch", "model_version", "named_version")
    search_fields = ("response_id", "trace_id", "conversation_id")  # searched as ``get_search_results`` says
    search_help_text = "A response id, trace id or conversation id (exact)."
    ordering = ("-started_at", "-id")

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[InferenceRecord], search_term: str
    ) -> tuple[QuerySet[InferenceRecord], bool]:
        """The records the term names exactly, as the trace search finds them. The admin's own search would compare
        ``UPPER(...)`` of each text and the trace id cast to text, which no index serves: among millions of records
        every search would read them all."""
        if not search_term.strip():
            return queryset, False
        return queryset.filter(identifier_match(search_term)), False


@admin.register(AnswerReview)
class AnswerReviewAdmin(ReadOnlyAuditAdmin):
    """Every decision on an escalated answer, for whoever reads the records: who, what, why, when."""

    list_display = ("decided_at", "use_case", "decision", "reviewer", "trace_id", "span_id", "ledger_sequence")
    list_filter = ("decision",)
    list_select_related = ("use_case", "reviewer")
    search_fields = ("=trace_id", "=record_id")
    search_help_text = "A trace id or an inference record id (exact)."
    ordering = ("-decided_at", "-id")
