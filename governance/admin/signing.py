"""The reusable "sign to approve" admin page that every approval (dataset stages, requirements,
promotion tickets) renders: the record, the meaning of the signature, and the re-authentication form."""

from collections.abc import Callable

from django.contrib import messages
from django.contrib.admin import AdminSite
from django.db import models
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse

from governance.canonical import record_digest
from governance.ledger import ActionDenied
from governance.signatures import SignatureForm, signatures_for

#: Called with the signer's credentials (``password``, ``username``); performs the approval service, which
#: signs inside its own transaction. Raises ``ActionDenied`` to refuse.
PerformSigned = Callable[[dict[str, str | None]], object]


def signing_view(
    request: HttpRequest,
    *,
    admin_site: AdminSite,
    record: models.Model,
    meaning: str,
    title: str,
    perform: PerformSigned,
    success_url: str,
    success_message: str,
    cancel_url: str,
    summary_template: str = "",
) -> HttpResponse:
    """GET shows the signing page; POST re-authenticates and performs. A refusal (wrong password, wrong
    role, wrong state) is shown on the page, with the form kept, and has already been recorded.

    ``summary_template`` renders what is being signed (with ``original`` in its context), so the signer
    reads the content their signature is bound to on the page where they sign."""
    form = SignatureForm(request.POST or None, request=request, meaning=meaning)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                perform(form.credentials())
            except ActionDenied as denial:
                form.add_error(None, denial.reason)
                status = 403
            else:
                form.mark_session_signed()
                messages.success(request, success_message)
                return HttpResponseRedirect(success_url)
        else:
            status = 400
    context = {
        **admin_site.each_context(request),
        "opts": record._meta,
        "original": record,
        "title": title,
        "form": form,
        "meaning": meaning,
        "record_digest": record_digest(record),
        "signatures": signatures_for(record),
        "cancel_url": cancel_url,
        "summary_template": summary_template,
    }
    return TemplateResponse(request, "admin/governance/sign.html", context, status=status)
