"""Trace an output, in the admin: the search the Auditor's and Risk Officer's landing pages carry, the list of the
records a query matches, the trace page of one answer, and its output provenance statement.

Searches are posted, never sent in the URL: a pasted answer would otherwise land in access logs, and the portal
keeps no answer text anywhere. Viewing a trace is a read like any admin page; taking the statement away is a
download, recorded in the ledger (``evidence.output_statement``).
"""

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseNotAllowed, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils.translation import gettext_lazy as _

from evidence.output_statement import may_trace, output_statement_download
from inference.choices import ResponseClassification
from inference.models import InferenceRecord
from inference.reviews import may_review
from inference.trace import TraceQueryInvalid, gate_outcome_label, records_matching, trace


class TraceViews:
    """The views, mounted by the evidence admin under its own URLs."""

    def __init__(self, admin_site: admin.AdminSite) -> None:
        self.admin_site = admin_site

    def urls(self) -> list[URLPattern]:
        view = self.admin_site.admin_view
        return [
            path("trace/", view(self.search_view), name="evidence_trace_search"),
            path("trace/<int:pk>/", view(self.trace_view), name="evidence_trace"),
            path("trace/<int:pk>/statement/", view(self.statement_view), name="evidence_trace_statement"),
        ]

    def _allowed(self, request: HttpRequest) -> None:
        if not may_trace(request.user):
            raise PermissionDenied(_("Only Auditors and Risk Officers may trace an output."))

    def _context(self, request: HttpRequest, title: str, **extra: object) -> dict:
        return {**self.admin_site.each_context(request), "title": title, **extra}

    def search_view(self, request: HttpRequest) -> HttpResponse:
        """GET: the empty search. POST: one match opens its trace; several are listed; none says so."""
        self._allowed(request)
        if request.method not in ("GET", "POST"):
            return HttpResponseNotAllowed(["GET", "POST"])
        records: list[InferenceRecord] = []
        error = ""
        searched = request.method == "POST"
        if searched:
            try:
                records = records_matching(request.POST.get("q", ""))
            except TraceQueryInvalid as invalid:
                error = str(invalid)
            if len(records) == 1:
                return HttpResponseRedirect(reverse("admin:evidence_trace", args=[records[0].pk]))
        context = self._context(
            request,
            str(_("Trace an output")),
            records=records,
            error=error,
            searched=searched and not error,
        )
        return TemplateResponse(request, "admin/evidence/trace_search.html", context, status=400 if error else 200)

    def trace_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        """Auditors and Risk Officers trace any answer; a use case's answer reviewers trace the escalated answers
        they review, to see what their decision rests on."""
        record = InferenceRecord.objects.select_related("use_case").filter(pk=pk).first()
        reviewer = (
            record is not None
            and record.response_classification == ResponseClassification.ESCALATED
            and may_review(request.user, record.use_case)
        )
        if not reviewer:
            self._allowed(request)
        if record is None:
            raise Http404
        found = trace(record)
        title = _("Trace of %(answer)s") % {"answer": found.record.response_id or found.record.trace_id}
        context = self._context(
            request,
            str(title),
            trace=found,
            gate_outcome=gate_outcome_label(found.gate),
            may_take_statement=not reviewer or may_trace(request.user),
        )
        return TemplateResponse(request, "admin/evidence/trace.html", context)

    def statement_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        record = InferenceRecord.objects.filter(pk=pk).first()
        if record is None:
            self._allowed(request)  # whether a record exists is not told to whoever may not trace
            raise Http404
        statement = output_statement_download(record=record, user=request.user)  # refused: recorded, then 403
        response = HttpResponse(statement.pdf, content_type="application/pdf")
        name = f"output-provenance-{record.trace_id}-{record.span_id}.pdf"
        response["Content-Disposition"] = f'attachment; filename="{name}"'
        response["X-Content-SHA256"] = statement.sha256
        return response
