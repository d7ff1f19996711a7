"""Documents in the admin: the list of every uploaded document, the upload page of a record (reached from the
documents panel on a use case, dataset version or incident page), and the download, which hands the file out
as an attachment to the permitted roles only and records it."""

from typing import Any

from django import forms
from django.apps import apps
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db import IntegrityError, models
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from accounts.admin.actions import attach_service_errors, refuse
from audit.admin.governed import ReadOnlyAuditAdmin
from audit.ledger import ActionDenied
from governance.models import Document
from governance.services.documents import (
    ATTACHMENT_RULES,
    document_download,
    document_upload,
    documents_for,
    may_attach,
    rule_for,
)
from governance.uploads import allowed_extensions, human_size, max_bytes


def record_url(document_or_target: models.Model) -> str:
    """The admin page of the record a document is attached to (or of ``target`` itself)."""
    if isinstance(document_or_target, Document):
        content_type = document_or_target.content_type
        return reverse(
            f"admin:{content_type.app_label}_{content_type.model}_change", args=[document_or_target.object_id]
        )
    opts = document_or_target._meta
    return reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[document_or_target.pk])


class DocumentUploadForm(forms.Form):
    kind = forms.ChoiceField(label=_("Kind"))
    file = forms.FileField(label=_("File"), allow_empty_file=True, max_length=500)
    description = forms.CharField(label=_("Description"), max_length=300, required=False)
    supersedes = forms.ModelChoiceField(
        label=_("Replaces"),
        queryset=Document.objects.none(),
        required=False,
        help_text=_("The earlier document this one corrects; it stays on record, marked as superseded."),
    )

    def __init__(self, *args: Any, target: models.Model, oversized: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        rule = rule_for(target)
        self.oversized = oversized
        self.fields["kind"].choices = [(kind.value, kind.label) for kind in rule.kinds]
        self.fields["file"].help_text = _("At most %(size)s; accepted: %(types)s.") % {
            "size": human_size(max_bytes()),
            "types": allowed_extensions(),
        }
        self.fields["file"].required = not oversized
        self.fields["supersedes"].queryset = documents_for(target).filter(superseded_by__isnull=True)

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        if self.oversized:
            self.add_error("file", f"The file is larger than {human_size(max_bytes())}, the most a document may be.")
        return cleaned


@admin.register(Document)
class DocumentAdmin(ReadOnlyAuditAdmin):
    list_display = (
        "original_filename",
        "kind",
        "record_link",
        "uploaded_by",
        "uploaded_at",
        "size",
        "short_sha256",
        "current",
        "download_link",
    )
    list_filter = ("kind", "content_type")
    list_select_related = ("uploaded_by", "content_type", "superseded_by")
    search_fields = ("original_filename", "object_label", "sha256")
    fields = (
        "original_filename",
        "kind",
        "description",
        "record_link",
        "media_type",
        "size_bytes",
        "sha256",
        "supersedes",
        "uploaded_by",
        "uploaded_at",
        "download_link",
    )
    readonly_fields = fields

    @admin.display(description=_("record"))
    def record_link(self, document: Document) -> str:
        return format_html('<a href="{}">{}</a>', record_url(document), document.object_label)

    @admin.display(description=_("size"), ordering="size_bytes")
    def size(self, document: Document) -> str:
        return human_size(document.size_bytes)

    @admin.display(description=_("SHA-256"))
    def short_sha256(self, document: Document) -> str:
        return format_html('<code title="{}">{}…</code>', document.sha256, document.sha256[:12])

    @admin.display(description=_("current"), boolean=True)
    def current(self, document: Document) -> bool:
        return not hasattr(document, "superseded_by")

    @admin.display(description=_("file"))
    def download_link(self, document: Document) -> str:
        url = reverse("admin:governance_document_download", args=[document.pk])
        return format_html('<a href="{}" class="document-download">{}</a>', url, _("Download"))

    def get_urls(self) -> list[URLPattern]:
        view = self.admin_site.admin_view
        return [
            path("<int:pk>/download/", view(self.download_view), name="governance_document_download"),
            path(
                "upload/<str:app_label>/<str:model_name>/<str:object_id>/",
                view(self.upload_view),
                name="governance_document_upload",
            ),
            *super().get_urls(),
        ]

    def download_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        document = get_object_or_404(Document.objects.select_related("content_type"), pk=pk)
        download = document_download(document=document, user=request.user)  # refused: recorded, then 403
        content_type = document.media_type
        if content_type.startswith("text/"):
            content_type += "; charset=utf-8"
        response = FileResponse(
            download.handle, as_attachment=True, filename=document.original_filename, content_type=content_type
        )
        response["X-Content-Type-Options"] = "nosniff"
        response["Content-Security-Policy"] = "default-src 'none'; sandbox"
        response["Cache-Control"] = "private, no-store"
        response["X-Content-SHA256"] = document.sha256
        return response

    def _target(self, app_label: str, model_name: str, object_id: str) -> models.Model:
        if f"{app_label}.{model_name}" not in ATTACHMENT_RULES:
            raise Http404("Documents are not attached to this kind of record.")
        model = apps.get_model(app_label, model_name)
        try:  # the URL takes any text; one that cannot be this model's key names no record
            pk = model._meta.pk.to_python(object_id)
        except ValidationError:
            raise Http404("No such record.") from None
        return get_object_or_404(model._default_manager, pk=pk)

    def upload_view(self, request: HttpRequest, app_label: str, model_name: str, object_id: str) -> HttpResponse:
        target = self._target(app_label, model_name, object_id)
        rule = rule_for(target)
        if not may_attach(request.user, target):
            refuse(
                request,
                attempted="upload document",
                obj=target,
                reason=f"Only {rule.owners} may attach documents here.",
            )
        posted = request.method == "POST"
        files = request.FILES if posted else None  # parses the body: the size-limit handler has had its say after
        form = DocumentUploadForm(
            request.POST if posted else None,
            files,
            target=target,
            oversized="file" in getattr(request, "oversized_uploads", ()),
        )
        status = 200
        if posted:
            status = 400
            if form.is_valid():
                upload = form.cleaned_data["file"]
                try:
                    document = document_upload(
                        actor=request.user,
                        target=target,
                        kind=form.cleaned_data["kind"],
                        file=upload,
                        filename=upload.name,
                        size=upload.size,
                        description=form.cleaned_data["description"],
                        supersedes=form.cleaned_data["supersedes"],
                    )
                except ValidationError as error:
                    attach_service_errors(form, error)
                except ActionDenied as denial:
                    form.add_error(None, denial.reason)
                    status = 403
                except IntegrityError:
                    form.add_error(None, "Someone superseded that document at the same moment; nothing was saved.")
                    status = 409
                else:
                    messages.success(
                        request, f"{document.original_filename} is attached to {target} (SHA-256 {document.sha256})."
                    )
                    return HttpResponseRedirect(record_url(target))
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": f"Attach a document to {target}",
            "target": target,
            "target_url": record_url(target),
            "form": form,
            "documents": documents_for(target),
        }
        return TemplateResponse(request, "admin/governance/document_upload.html", context, status=status)
