"""Admin base classes: read-only audit tables, and governed models with an audit trail page."""

from typing import Any

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.db import models, transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import URLPattern, path
from simple_history.admin import SimpleHistoryAdmin

from audit import ledger
from audit.access import access_record
from audit.admin.export import ListExportMixin
from audit.canonical import ledger_labels
from audit.choices import AccessKind
from audit.models.ledger import LedgerEntry
from audit.readable import readable_entries
from audit.signatures import signatures_for

AUDIT_TRAIL_LIMIT = 500


class ReadOnlyAuditAdmin(ListExportMixin, admin.ModelAdmin):
    """Evidence is never added, changed or deleted through the admin, by anyone, superusers included."""

    show_full_result_count = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def get_actions(self, request: HttpRequest) -> dict:
        return {}


class GovernedAdmin(ListExportMixin, SimpleHistoryAdmin):
    """Admin for a ``GovernedModel``: adds the "Audit trail" page (ledger entries, diffs and signatures).

    Subclasses list their state-machine fields in ``readonly_fields``: transitions are buttons that call
    services, never a field edited in a form.
    """

    change_form_template = "admin/audit/governed_change_form.html"
    show_full_result_count = False

    def get_urls(self) -> list[URLPattern]:
        info = self.opts.app_label, self.opts.model_name
        return [
            path(
                "<path:object_id>/audit-trail/",
                self.admin_site.admin_view(self.audit_trail_view),
                name="{}_{}_audit_trail".format(*info),
            ),
            *super().get_urls(),
        ]

    def audit_trail_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        obj = get_object_or_404(self.get_queryset(request), pk=object_id)
        if not self.has_view_or_change_permission(request, obj):
            raise PermissionDenied
        entries = list(
            LedgerEntry.objects.filter(object_type__in=ledger_labels(obj), object_id=str(obj.pk)).order_by("-sequence")[
                :AUDIT_TRAIL_LIMIT
            ]
        )
        access_record(user=request.user, kind=AccessKind.VIEW_AUDIT_TRAIL, obj=obj)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "original": obj,
            "title": f"Audit trail: {obj}",
            "entries": readable_entries(entries),
            "truncated": len(entries) == AUDIT_TRAIL_LIMIT,
            "signatures": signatures_for(obj),
        }
        return TemplateResponse(request, "admin/audit/audit_trail.html", context)

    def history_form_view(
        self, request: HttpRequest, object_id: str, version_id: str, extra_context: dict | None = None
    ) -> HttpResponse:
        """simple-history saves a posted historical version even with reverting disabled (the setting only
        hides the button). History is evidence, never a way to edit: a POST here is refused and recorded."""
        if request.method != "GET":
            obj = get_object_or_404(self.model._base_manager, pk=object_id)
            with transaction.atomic():
                ledger.record_denial(
                    actor=request.user,
                    attempted=f"revert to history {version_id}",
                    obj=obj,
                    reason="reverting is disabled",
                )
            raise PermissionDenied
        return super().history_form_view(request, object_id, version_id, extra_context)

    def get_readonly_fields(self, request: HttpRequest, obj: models.Model | None = None) -> list[str]:
        from django_fsm import FSMFieldMixin

        readonly = list(super().get_readonly_fields(request, obj))
        fsm_fields = [field.name for field in self.opts.concrete_fields if isinstance(field, FSMFieldMixin)]
        return readonly + [name for name in fsm_fields if name not in readonly]
