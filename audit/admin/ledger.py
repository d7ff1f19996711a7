"""The ledger browser and the other read-only audit tables of the trust core."""

import json
from collections.abc import Iterator

from django.apps import apps
from django.contrib import admin
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.http import HttpRequest, StreamingHttpResponse
from django.urls import URLPattern, path
from django.utils import timezone
from django.utils.functional import cached_property
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _

from audit.access import access_record
from audit.admin.governed import ReadOnlyAuditAdmin
from audit.canonical import model_label
from audit.choices import AccessKind
from audit.models import (
    AccessEvent,
    GovernedModel,
    LedgerCheckpoint,
    LedgerEntry,
    LedgerObjectHead,
    LedgerStateDifference,
    LedgerTreeTile,
    LedgerVerification,
    Signature,
    VerificationKey,
)
from audit.readable import actor_display, models_by_ledger_label, readable_entries, type_name
from audit.search import ledger_search
from audit.signatures import signature_is_valid
from audit.tree import first_leaf, split_hashes

#: The changelist counts at most this many matching rows; beyond, it shows "10000+" pages' worth.
COUNT_CAP = 10_000
EXPORT_CHUNK = 5_000


class CappedCountPaginator(Paginator):
    """Counting millions of rows on every page view is what makes audit logs slow; count up to a cap."""

    @cached_property
    def count(self) -> int:
        return self.object_list.order_by()[: COUNT_CAP + 1].count()


class ObjectTypeFilter(admin.SimpleListFilter):
    """Object types from the content types table: a DISTINCT over the ledger would scan every row."""

    title = _("object type")
    parameter_name = "object_type"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list[tuple[str, str]]:
        # The apps whose records the ledger speaks of: those with governed models, the trust core, and people.
        project_apps = {model._meta.app_label for model in apps.get_models() if issubclass(model, GovernedModel)}
        project_apps |= {"audit", "auth"}
        types = ContentType.objects.filter(app_label__in=project_apps).exclude(model__startswith="historical")
        known = models_by_ledger_label()
        labels = [(f"{ct.app_label}.{ct.model}", type_name(f"{ct.app_label}.{ct.model}", known)) for ct in types]
        return sorted(labels, key=lambda choice: choice[1].lower())

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        return queryset.filter(object_type=self.value()) if self.value() else queryset


@admin.register(LedgerEntry)
class LedgerEntryAdmin(ReadOnlyAuditAdmin):
    list_display = ("sequence", "when", "actor_display", "action", "object_summary", "short_hash")
    # "actor" lists people from the user table; RelatedOnlyFieldListFilter would scan the ledger for DISTINCT actors.
    list_filter = ("action", ObjectTypeFilter, "actor", "recorded_at")
    search_fields = ("object_id",)
    search_help_text = _(
        "A record's name or ID (support-chats@3, support-assistant:7), a person's name, or an exact object id."
    )
    list_select_related = ()
    paginator = CappedCountPaginator
    list_per_page = 100
    ordering = ("-sequence",)
    change_list_template = "admin/audit/ledgerentry/change_list.html"
    fields = (
        "sequence",
        "recorded_at",
        "actor_name",
        "actor",
        "action",
        "object_type",
        "object_id",
        "object_label",
        "request_id",
        "what_changed",
        "payload_pretty",
        "prev_hash_hex",
        "entry_hash_hex",
    )
    readonly_fields = fields

    @admin.display(description=_("entry hash"))
    def short_hash(self, entry: LedgerEntry) -> str:
        return format_html("<code>{}</code>", entry.entry_hash_hex[:12])

    @admin.display(description=_("when (UTC)"), ordering="sequence")
    def when(self, entry: LedgerEntry) -> str:
        return entry.recorded_at.strftime("%Y-%m-%d %H:%M:%S")

    @admin.display(description=_("object"))
    def object_summary(self, entry: LedgerEntry) -> str:
        return format_html(
            '{}<br><span class="quiet">{}</span>',
            entry.object_label or self.get_empty_value_display(),
            type_name(entry.object_type, self._types),
        )

    @admin.display(description=_("actor"), ordering="actor")
    def actor_display(self, entry: LedgerEntry) -> str:
        return actor_display(entry.actor_name)

    @admin.display(description=_("what changed"))
    def what_changed(self, entry: LedgerEntry) -> str:
        lines = readable_entries([entry])[0].lines
        items = format_html_join("", "<li>{}</li>", ((line,) for line in lines))
        return format_html('<ul class="ledger-changes">{}</ul>', items) if lines else self.get_empty_value_display()

    @cached_property
    def _types(self) -> dict:
        return models_by_ledger_label()

    @admin.display(description=_("payload"))
    def payload_pretty(self, entry: LedgerEntry) -> str:
        return format_html("<pre>{}</pre>", json.dumps(entry.payload, indent=2, sort_keys=True, ensure_ascii=False))

    def get_search_results(self, request: HttpRequest, queryset: QuerySet, search_term: str) -> tuple[QuerySet, bool]:
        # Resolved to ids first, so the (object_type, object_id) and actor indexes serve it; no LIKE over the ledger.
        return ledger_search(request, queryset, search_term), False

    def get_urls(self) -> list[URLPattern]:
        return [
            path(
                "export.jsonl",
                self.admin_site.admin_view(self.export_view),
                name="audit_ledgerentry_export",
            ),
            *super().get_urls(),
        ]

    def export_view(self, request: HttpRequest) -> StreamingHttpResponse:
        """The changelist's current filter as JSON Lines: each line is an entry's hashed document with its
        hashes, so the slice can be re-verified offline. The export itself is recorded."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        changelist = self.get_changelist_instance(request)
        tail = LedgerEntry.objects.order_by("-sequence").values_list("sequence", flat=True).first() or 0
        # The slice as it stood when asked for: not the export's own entry, nor anything appended meanwhile.
        queryset = changelist.get_queryset(request).filter(sequence__lte=tail).order_by("sequence")
        filters = {key: value for key, value in request.GET.items() if key not in {"o", "p"}}
        access_record(
            user=request.user,
            kind=AccessKind.EXPORT,
            object_type=model_label(LedgerEntry),
            object_label="audit ledger (JSON Lines)",
            detail={"filters": filters, "format": "jsonl"},
        )
        response = StreamingHttpResponse(_jsonl(queryset), content_type="application/x-ndjson")
        stamp = timezone.now().strftime("%Y%m%dT%H%M%SZ")
        response["Content-Disposition"] = f'attachment; filename="audit-ledger-{stamp}.jsonl"'
        return response


def _jsonl(queryset: QuerySet) -> Iterator[bytes]:
    rows = queryset.values_list("canonical", "prev_hash", "entry_hash").iterator(chunk_size=EXPORT_CHUNK)
    for canonical, prev_hash, entry_hash in rows:
        yield (
            b'{"entry":'
            + bytes(canonical)
            + f',"entry_hash":"{bytes(entry_hash).hex()}","prev_hash":"{bytes(prev_hash).hex()}"}}\n'.encode()
        )


@admin.register(Signature)
class SignatureAdmin(ReadOnlyAuditAdmin):
    list_display = ("signed_at", "printed_name", "meaning", "object_label", "validity")
    list_filter = ("signed_at", "content_type")
    list_select_related = ("signer", "content_type")
    raw_id_fields = ("signer",)
    exclude = ("content_type",)
    readonly_fields = (
        "printed_name",
        "signer",
        "signed_at",
        "meaning",
        "object_label",
        "object_id",
        "record_digest",
        "ledger_entry",
        "validity",
    )

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return super().get_queryset(request).prefetch_related("record")

    @admin.display(description=_("validity"))
    def validity(self, signature: Signature) -> str:
        if signature_is_valid(signature):
            return format_html('<span class="signature-valid">{}</span>', _("Valid"))
        return format_html(
            '<strong class="signature-invalid">{}</strong>',
            _("Invalidated: the record changed after signing"),
        )


@admin.register(LedgerCheckpoint)
class LedgerCheckpointAdmin(ReadOnlyAuditAdmin):
    list_display = ("tree_size", "created_at", "root_hash_hex", "key_id", "file_name")
    readonly_fields = ("tree_size", "created_at", "root_hash_hex", "key_id", "file_name")
    exclude = ("root_hash", "signature", "statement")


@admin.register(LedgerTreeTile)
class LedgerTreeTileAdmin(ReadOnlyAuditAdmin):
    """The stored Merkle tree, tile by tile: which entries each covers and the root it hashes to, for an auditor who
    wants to fetch the nodes behind a proof. ``verify_ledger`` recomputes every one of them."""

    list_display = ("level", "index", "entries", "root_hex")
    list_filter = ("level",)
    fields = ("level", "index", "entries", "root_hex", "hashes_hex")
    readonly_fields = fields
    paginator = CappedCountPaginator

    @admin.display(description=_("entries"))
    def entries(self, tile: LedgerTreeTile) -> str:
        return f"#{first_leaf(tile.level, tile.index) + 1} to #{first_leaf(tile.level, tile.index + 1)}"

    @admin.display(description=_("root"))
    def root_hex(self, tile: LedgerTreeTile) -> str:
        return bytes(tile.root).hex()

    @admin.display(description=_("node hashes"))
    def hashes_hex(self, tile: LedgerTreeTile) -> str:
        return "\n".join(bytes(node).hex() for node in split_hashes(bytes(tile.hashes)))


@admin.register(LedgerObjectHead)
class LedgerObjectHeadAdmin(ReadOnlyAuditAdmin):
    """Each object's count of ledger entries and newest entry as of the newest checkpoint, which signs their root:
    what an evidence pack proves its slice complete by. Derived, and rebuilt from the entries by ``verify_ledger``."""

    list_display = ("object_type", "object_id", "count", "head_sequence", "bucket")
    fields = list_display
    readonly_fields = fields
    paginator = CappedCountPaginator


@admin.register(VerificationKey)
class VerificationKeyAdmin(ReadOnlyAuditAdmin):
    """The keys the portal has signed evidence with, as the public Verification keys page lists them."""

    list_display = ("kind", "sha256_fingerprint", "key_id", "subject", "valid_until", "first_used_at")
    list_filter = ("kind",)


@admin.register(LedgerVerification)
class LedgerVerificationAdmin(ReadOnlyAuditAdmin):
    list_display = (
        "started_at",
        "ok",
        "since_last",
        "entries_checked",
        "checkpoints_checked",
        "tiles_checked",
        "verified_tree_size",
        "uncovered_tail",
        "first_broken_sequence",
        "message",
        "state_checked",
        "records_checked",
        "state_differences",
    )
    list_filter = ("ok", "state_checked")


@admin.register(LedgerStateDifference)
class LedgerStateDifferenceAdmin(ReadOnlyAuditAdmin):
    """What a replay of the ledger over the governed rows found (``verify_ledger --state``)."""

    list_display = (
        "verification",
        "kind",
        "object_type",
        "object_id",
        "object_label",
        "field",
        "ledger_value",
        "row_value",
    )
    list_filter = ("kind",)
    list_select_related = ("verification",)
    raw_id_fields = ("verification",)
    search_fields = ("object_id",)
    show_full_result_count = False

    @admin.display(description=_("after the newest stored checkpoint"))
    def uncovered_tail(self, run: LedgerVerification) -> str:
        return run.uncovered_tail()


@admin.register(AccessEvent)
class AccessEventAdmin(ReadOnlyAuditAdmin):
    list_display = ("occurred_at", "user", "kind", "object_type", "object_label")
    list_filter = ("kind", "occurred_at")
    list_select_related = ("user",)
    search_fields = ("object_id",)
    paginator = CappedCountPaginator

    def get_search_results(self, request: HttpRequest, queryset: QuerySet, search_term: str) -> tuple[QuerySet, bool]:
        term = search_term.strip()
        return (queryset.filter(object_id=term) if term else queryset), False
