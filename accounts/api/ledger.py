"""``GET /api/v1/ledger?after=<sequence>&limit=N``: the audit ledger in order, for a SIEM's HTTP pull input.

Each entry is sent as the ledger hashed it (its RFC 8785 bytes, verbatim) with its hash and the hash before it,
so the receiver can check the chain itself, page after page, as the evidence pack's ``ledger.jsonl`` is checked.
The cursor is the last sequence received: a client that resumes from it after any outage neither misses an entry
nor receives one twice, since entries are only ever appended, gaplessly.

The page is assembled from the stored bytes without parsing them, so a page of a thousand entries costs one
indexed range read. Reading is not itself ledgered: a SIEM polls every few seconds, and an entry per poll would
fill the ledger with its own reading; the token that reads was issued through a ledgered change, with this scope
named, and every refused call is recorded.
"""

from django.http import HttpResponse
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request

from accounts.api.views import PipelineAPIView
from accounts.models import PipelineTokenScope
from audit.models import LedgerEntry

PAGE_LIMIT = 1000
#: JSON's exact integers: a larger cursor is no sequence this ledger can reach.
LARGEST_SEQUENCE = 2**53 - 1


class LedgerPageQuery(serializers.Serializer):
    after = serializers.IntegerField(
        min_value=0, max_value=LARGEST_SEQUENCE, default=0, help_text="The last sequence already received (0: start)."
    )
    limit = serializers.IntegerField(
        min_value=1, max_value=PAGE_LIMIT, default=PAGE_LIMIT, help_text="Entries per page, at most 1,000."
    )


class LedgerEntryOut(serializers.Serializer):
    sequence = serializers.IntegerField()
    entry = serializers.DictField(help_text="The entry as hashed: its RFC 8785 canonical JSON, verbatim.")
    entry_hash = serializers.CharField(help_text="SHA-256(prev_hash || entry bytes), hex.")
    prev_hash = serializers.CharField(help_text="The previous entry's hash (32 zero bytes before the first), hex.")


class LedgerPageOut(serializers.Serializer):
    entries = LedgerEntryOut(many=True)
    next_after = serializers.IntegerField(help_text="Send as ``after`` for the next page.")
    has_more = serializers.BooleanField(help_text="More entries follow this page now.")


class LedgerFeed(PipelineAPIView):
    """Ledger entries after a sequence, in order, with their hashes; the whole ledger, whatever the use case."""

    required_scope = PipelineTokenScope.LEDGER_READ

    @extend_schema(parameters=[LedgerPageQuery], responses={200: LedgerPageOut})
    def get(self, request: Request) -> HttpResponse:
        # A plain dict: from a QueryDict, DRF reads an empty value (``?after=``) as absent and would use the default.
        query = LedgerPageQuery(data=request.query_params.dict())
        query.is_valid(raise_exception=True)
        after, limit = query.validated_data["after"], query.validated_data["limit"]
        rows = list(
            LedgerEntry.objects.filter(sequence__gt=after)
            .order_by("sequence")
            .values_list("sequence", "canonical", "entry_hash", "prev_hash")[: limit + 1]
        )
        has_more = len(rows) > limit
        rows = rows[:limit]
        entries = b",".join(
            b'{"sequence":%d,"entry":%s,"entry_hash":"%s","prev_hash":"%s"}'
            % (sequence, bytes(canonical), bytes(entry_hash).hex().encode(), bytes(prev_hash).hex().encode())
            for sequence, canonical, entry_hash, prev_hash in rows
        )
        next_after = rows[-1][0] if rows else after
        body = b'{"entries":[%s],"next_after":%d,"has_more":%s}' % (
            entries,
            next_after,
            b"true" if has_more else b"false",
        )
        return HttpResponse(body, content_type="application/json")
