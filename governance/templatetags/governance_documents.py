"""``{% documents_panel original %}``: the documents of a record on its admin page, with the download links and
the upload link the person's roles allow. One tag, so each app's change form adds one line and imports nothing."""

from typing import Any

from django import template
from django.db import models
from django.urls import reverse

from governance.services.documents import documents_for, may_attach, may_download

register = template.Library()


@register.inclusion_tag("admin/governance/documents_panel.html", takes_context=True)
def documents_panel(context: dict[str, Any], record: models.Model) -> dict[str, Any]:
    user = context["request"].user
    documents = list(documents_for(record))
    for document in documents:
        document.superseded = hasattr(document, "superseded_by")
    opts = record._meta
    return {
        "documents": documents,
        "may_download": bool(documents) and may_download(user, documents[0]),
        "may_attach": may_attach(user, record),
        "upload_url": reverse("admin:governance_document_upload", args=[opts.app_label, opts.model_name, record.pk]),
    }
