"""Evidence packs in the admin: each pack's page (progress, download), the auditor's list of packs, and the
evidence page of a model version (build a pack, take the standalone exports). Downloads and exports are for
Auditors, Risk Officers and Compliance Reviewers only, and every one is recorded in the ledger."""

import uuid

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed, HttpResponseRedirect, JsonResponse
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from audit.admin.governed import ReadOnlyAuditAdmin
from audit.ledger import record_denial
from evidence.answer_review_admin import ReviewViews
from evidence.choices import PackStatus
from evidence.models import EvidencePack
from evidence.oscal_results import oscal_export
from evidence.services import (
    EXPORTS,
    evidence_pack_download,
    evidence_pack_request,
    may_download,
    model_version_export,
)
from evidence.trace_admin import TraceViews
from governance.models import UseCase
from registry.models import ModelVersion


@admin.register(EvidencePack)
class EvidencePackAdmin(ReadOnlyAuditAdmin):
    list_display = (
        "id",
        "scope_summary",
        "status",
        "progress_bar",
        "requested_by",
        "requested_at",
        "page_count",
        "download_link",
    )
    list_filter = ("status", "scope")
    list_select_related = ("model_version", "use_case", "requested_by")
    raw_id_fields = ("model_version", "use_case", "requested_by", "checkpoint")
    change_form_template = "admin/evidence/evidencepack/change_form.html"
    fields = (
        "scope",
        "use_case",
        "model_version",
        "requested_by",
        "requested_at",
        "idempotency_key",
        "status",
        "failure_reason",
        "progress_bar",
        "attempts",
        "started_at",
        "finished_at",
        "page_count",
        "sha256",
        "checkpoint_tree_size",
        "checkpoint_root",
        "checkpoint_signature",
    )
    readonly_fields = fields

    @admin.display(description=_("scope"))
    def scope_summary(self, pack: EvidencePack) -> str:
        return pack.scope_label

    @admin.display(description=_("progress"))
    def progress_bar(self, pack: EvidencePack) -> str:
        return format_html(
            '<progress class="evidence-progress" value="{}" max="100">{}%</progress> {}%',
            pack.progress,
            pack.progress,
            pack.progress,
        )

    @admin.display(description=_("PDF"))
    def download_link(self, pack: EvidencePack) -> str:
        if pack.status != PackStatus.READY:
            return ""
        url = reverse("admin:evidence_evidencepack_download", args=[pack.pk])
        return format_html('<a href="{}">{}</a>', url, _("Download"))

    def get_urls(self) -> list[URLPattern]:
        view = self.admin_site.admin_view
        return [
            path("<int:pk>/download/", view(self.download_view), name="evidence_evidencepack_download"),
            path("<int:pk>/progress/", view(self.progress_view), name="evidence_evidencepack_progress"),
            path(
                "model-version/<int:pk>/",
                view(self.model_version_view),
                name="evidence_evidencepack_model_version",
            ),
            path(
                "model-version/<int:pk>/export/<str:kind>/",
                view(self.export_view),
                name="evidence_evidencepack_export",
            ),
            path(
                "use-case/<int:pk>/oscal-assessment-results/",
                view(self.oscal_assessment_results_view),
                name="evidence_evidencepack_oscal_assessment_results",
            ),
            *TraceViews(self.admin_site).urls(),
            *ReviewViews(self.admin_site).urls(),
            *super().get_urls(),
        ]

    def oscal_assessment_results_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        """The use case's assessment results in OSCAL, from a button on its page: for whoever may view the use
        case (as its component definition beside it), recorded as an export."""
        use_case = get_object_or_404(UseCase, pk=pk)
        use_case_admin = self.admin_site.get_model_admin(UseCase)
        if not use_case_admin.has_view_permission(request, use_case):
            raise PermissionDenied
        body = oscal_export(use_case=use_case, user=request.user, document="assessment-results", channel="admin")
        response = HttpResponse(body, content_type="application/json")
        response["Content-Disposition"] = f'attachment; filename="{use_case.slug}-assessment-results.json"'
        return response

    def change_view(
        self, request: HttpRequest, object_id: str, form_url: str = "", extra_context: dict | None = None
    ) -> HttpResponse:
        pack = self.get_object(request, object_id)
        extra = {
            "pack": pack,
            "may_download": may_download(request.user),
            "pending": pack is not None and pack.status in (PackStatus.QUEUED, PackStatus.RENDERING),
            "PackStatus": PackStatus,
        }
        return super().change_view(request, object_id, form_url, {**extra, **(extra_context or {})})

    def _pack(self, request: HttpRequest, pk: int) -> EvidencePack:
        pack = get_object_or_404(EvidencePack.objects.select_related("model_version", "use_case"), pk=pk)
        if not self.has_view_permission(request, pack):
            raise PermissionDenied
        return pack

    def download_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        pack = self._pack(request, pk)
        body = evidence_pack_download(pack=pack, user=request.user)  # refused: recorded, then 403
        response = HttpResponse(body, content_type="application/pdf")
        response["Content-Disposition"] = f'attachment; filename="evidence-pack-{pack.pk}.pdf"'
        response["X-Content-SHA256"] = pack.sha256
        return response

    def progress_view(self, request: HttpRequest, pk: int) -> JsonResponse:
        pack = self._pack(request, pk)
        return JsonResponse({"status": pack.status, "progress": pack.progress, "reason": pack.failure_reason})

    def _model_version(self, request: HttpRequest, pk: int) -> ModelVersion:
        if not self.has_view_permission(request):
            raise PermissionDenied
        return get_object_or_404(ModelVersion.objects.select_related("use_case"), pk=pk)

    def model_version_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        """The model version's evidence: its packs, a button to build one, and the standalone exports."""
        model_version = self._model_version(request, pk)
        if request.method == "POST":
            if not may_download(request.user):
                record_denial(
                    actor=request.user,
                    attempted="request evidence pack",
                    obj=model_version,
                    reason="Only Auditors, Risk Officers and Compliance Reviewers may build evidence packs.",
                )
                raise PermissionDenied
            key = request.POST.get("idempotency_key", "")[:64] or uuid.uuid4().hex
            pack = evidence_pack_request(actor=request.user, model_version=model_version, idempotency_key=key)
            pack.refresh_from_db()  # built already when tasks run in-process: never say "queued" beside a ready pack
            if pack.status == PackStatus.READY:
                messages.success(request, _("Evidence pack #%(pk)s is ready.") % {"pk": pack.pk})
            elif pack.status == PackStatus.FAILED:
                messages.error(
                    request, _("Evidence pack #%(pk)s failed: %(why)s") % {"pk": pack.pk, "why": pack.failure_reason}
                )
            else:
                messages.success(request, _("Evidence pack #%(pk)s is queued.") % {"pk": pack.pk})
            return HttpResponseRedirect(reverse("admin:evidence_evidencepack_change", args=[pack.pk]))
        if request.method != "GET":
            return HttpResponseNotAllowed(["GET", "POST"])
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": _("Evidence for %(mv)s") % {"mv": model_version.identifier},
            "model_version": model_version,
            "packs": EvidencePack.objects.filter(model_version=model_version).select_related("requested_by")[:50],
            "may_download": may_download(request.user),
            "PackStatus": PackStatus,
            "idempotency_key": uuid.uuid4().hex,
            "exports": [(kind, export.label) for kind, export in EXPORTS.items()],
        }
        return TemplateResponse(request, "admin/evidence/model_version_evidence.html", context)

    def export_view(self, request: HttpRequest, pk: int, kind: str) -> HttpResponse:
        model_version = self._model_version(request, pk)
        if kind not in EXPORTS:
            raise PermissionDenied
        body = model_version_export(model_version=model_version, kind=kind, user=request.user)
        export = EXPORTS[kind]
        response = HttpResponse(body, content_type=export.content_type)
        stamp = timezone.now().strftime("%Y%m%dT%H%M%SZ")
        name = f"{model_version.name}-{model_version.number}-{stamp}.{export.extension}"
        response["Content-Disposition"] = f'attachment; filename="{name}"'
        return response
