"""CSV export of any admin change list, as filtered, for the people who may view its rows.

django-import-export (4.3 and later support Django 5.2) was weighed and not taken: its export builds the whole
file in memory as a tablib ``Dataset`` before sending a byte, so a list of a million ledger entries would be held
in the web process at once; its resources export model fields, not the change list's columns (the admin's own
display methods, choice labels, related names) that people read on the page; and its export is a form step with
its own permission code beside Django's view permission. A change list is already the filtered, searched and
ordered query: this mixin streams it through Python's ``csv`` module, cell by cell as the page shows it.
"""

import csv
import html
import re
from collections.abc import Iterator
from typing import Any

from django.contrib import admin
from django.contrib.admin.options import IncorrectLookupParameters
from django.contrib.admin.utils import display_for_field, display_for_value, label_for_field, lookup_field
from django.core.exceptions import PermissionDenied
from django.db import models, transaction
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest, StreamingHttpResponse
from django.urls import URLPattern, path, reverse
from django.utils import timezone
from django.utils.html import strip_tags
from django.utils.safestring import SafeData

from audit import ledger
from audit.access import access_record
from audit.canonical import model_label
from audit.choices import AccessKind

#: Rows fetched from the database per round trip while streaming; memory stays flat whatever the list's size.
EXPORT_CHUNK = 2_000
#: A spreadsheet reads a cell starting with one of these as a formula (CSV injection).
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
_LINE_BREAK_TAG = re.compile(r"<br\s*/?>", re.IGNORECASE)
_INTEGER_PKS = (models.AutoField, models.BigAutoField, models.SmallAutoField)


def neutralise_formula(cell: str) -> str:
    """A cell a spreadsheet would run as a formula is kept as text: a leading quote, as OWASP recommends."""
    return f"'{cell}" if cell.startswith(FORMULA_PREFIXES) else cell


class _Echo:
    """The file-like object ``csv.writer`` writes to: it hands each line back instead of keeping it."""

    def write(self, value: str) -> str:
        return value


class ListExportMixin(admin.ModelAdmin):
    """Adds "Export CSV" to a change list: every row its filters, search and ordering select (all pages), with
    its columns as people read them. Viewing the list is the permission; each export is an access event in the
    ledger naming the list, its filters and its row count, and a refused export is recorded as a denial."""

    def get_urls(self) -> list[URLPattern]:
        info = self.opts.app_label, self.opts.model_name
        return [
            path("export.csv", self.admin_site.admin_view(self.export_csv_view), name="{}_{}_export_csv".format(*info)),
            *super().get_urls(),
        ]

    def changelist_view(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> HttpResponse:
        info = self.opts.app_label, self.opts.model_name
        extra_context = {**(extra_context or {}), "list_export_url": reverse("admin:{}_{}_export_csv".format(*info))}
        return super().changelist_view(request, extra_context)

    def export_csv_view(self, request: HttpRequest) -> HttpResponse | StreamingHttpResponse:
        list_name = model_label(self.model)
        if not self.has_view_permission(request):
            with transaction.atomic():
                ledger.record_denial(
                    actor=request.user, attempted=f"export {list_name} as CSV", reason="may not view this list"
                )
            raise PermissionDenied
        try:
            changelist = self.get_changelist_instance(request)
        except IncorrectLookupParameters:
            return HttpResponseBadRequest(
                "These filters do not apply to this list; open the list, filter it there and export again.",
                content_type="text/plain; charset=utf-8",
            )
        queryset = changelist.get_queryset(request)
        if isinstance(self.opts.pk, _INTEGER_PKS):
            # The list as it stood when asked for: not the export's own ledger entry, nor rows added meanwhile.
            tail = self.model._default_manager.order_by("-pk").values_list("pk", flat=True).first() or 0
            queryset = queryset.filter(pk__lte=tail)
        columns = [name for name in changelist.list_display if name != "action_checkbox"]
        filters = {key: value for key, value in request.GET.items() if key != "p"}
        access_record(
            user=request.user,
            kind=AccessKind.EXPORT,
            object_type=list_name,
            object_label=f"{self.opts.verbose_name_plural} (CSV)",
            detail={"list": list_name, "filters": filters, "rows": queryset.count(), "format": "csv"},
        )
        writer = csv.writer(_Echo())
        lines = (writer.writerow(row) for row in self._export_rows(columns, queryset))
        response = StreamingHttpResponse(lines, content_type="text/csv; charset=utf-8")
        stamp = timezone.now().strftime("%Y%m%dT%H%M%SZ")
        filename = f"{self.opts.app_label}-{self.opts.model_name}-{stamp}.csv"
        response["Content-Disposition"] = f'attachment; filename="{filename}"'
        return response

    def _export_rows(self, columns: list[str], queryset: models.QuerySet) -> Iterator[list[str]]:
        yield [self._export_cell(label_for_field(name, self.model, model_admin=self)) for name in columns]
        for obj in queryset.iterator(chunk_size=EXPORT_CHUNK):
            yield [self._export_cell(self._export_value(name, obj)) for name in columns]

    def _export_value(self, name: str, obj: models.Model) -> Any:
        """One cell as the change list renders it (Django's ``items_for_result``), in words rather than icons."""
        empty = self.get_empty_value_display()
        field, attr, value = lookup_field(name, obj, self)
        is_boolean = isinstance(field, models.BooleanField) or getattr(attr, "boolean", False)
        if is_boolean:
            return {True: "yes", False: "no"}.get(value, empty)
        if field is None or field.auto_created:
            return display_for_value(value, empty)
        if isinstance(field.remote_field, models.ManyToOneRel):
            related = getattr(obj, field.name)
            return empty if related is None else related
        return display_for_field(value, field, empty)

    @staticmethod
    def _export_cell(value: Any) -> str:
        text = str(value)
        if isinstance(value, SafeData):
            # A display method's HTML (format_html): the cell keeps its words, not its markup.
            text = " ".join(html.unescape(strip_tags(_LINE_BREAK_TAG.sub(" ", text))).split())
        return neutralise_formula(text)
