"""Break-glass overrides: read-only, like every record of evidence."""

from django.contrib import admin

from audit.admin.governed import ReadOnlyAuditAdmin
from governance.models import BreakGlassOverride


@admin.register(BreakGlassOverride)
class BreakGlassOverrideAdmin(ReadOnlyAuditAdmin):
    list_display = ("created_at", "gate", "object_label", "requested_by", "approved_by")
    list_filter = ("created_at", "content_type")
    list_select_related = ("requested_by", "approved_by")
    exclude = ("content_type",)
    readonly_fields = (
        "created_at",
        "gate",
        "object_label",
        "object_id",
        "justification",
        "requested_by",
        "approved_by",
        "approval_signature",
        "ledger_entry",
    )
