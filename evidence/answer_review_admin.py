"""The reviewers' pages in the admin, beside the trace pages they lead to: the escalated answers waiting for the
signed-in person, oldest first, and the review page of one answer (what the serving side recorded of it, then
approve, or override with a reason).

Each page costs a fixed number of queries whatever the number of answers listed. The pages call
``answer_review_decide``; a refusal is said with its reason (403), a reviewer beaten to the decision by another
is told who decided (409), and a form error keeps what was typed (400).
"""

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils.translation import gettext_lazy as _

from accounts.authz import printed_names, role_holders
from audit.ledger import ActionDenied
from inference.choices import AnswerDecision
from inference.models import InferenceRecord
from inference.reviews import (
    MAX_REASON,
    AnswerAlreadyReviewed,
    answer_review_decide,
    answer_review_refusal,
    awaiting_review,
    review_of,
    reviewed_use_case_ids,
    reviewer_roles,
)

#: Answers listed per page of the queue.
PAGE_SIZE = 50


class AnswerReviewForm(forms.Form):
    decision = forms.ChoiceField(
        label=_("Decision"), choices=AnswerDecision.choices, widget=forms.RadioSelect, required=True
    )
    reason = forms.CharField(
        label=_("Reason"),
        widget=forms.Textarea(attrs={"rows": 4}),
        max_length=MAX_REASON,
        required=False,
        help_text=_("Required to override: what was wrong with the answer, and what the customer was given instead."),
    )

    def clean(self) -> dict:
        cleaned = super().clean()
        if cleaned.get("decision") == AnswerDecision.OVERRIDDEN and not (cleaned.get("reason") or "").strip():
            self.add_error("reason", _("Say why the answer is overridden."))
        return cleaned


class ReviewViews:
    """Mounted by the evidence admin under its own URLs, like the trace pages."""

    def __init__(self, admin_site: admin.AdminSite) -> None:
        self.admin_site = admin_site

    def urls(self) -> list[URLPattern]:
        view = self.admin_site.admin_view
        return [
            path("answers/escalated/", view(self.queue_view), name="evidence_escalated_answers"),
            path("answers/<int:pk>/review/", view(self.review_view), name="evidence_answer_review"),
        ]

    def _context(self, request: HttpRequest, title: str, **extra: object) -> dict:
        return {**self.admin_site.each_context(request), "title": title, **extra}

    def queue_view(self, request: HttpRequest) -> HttpResponse:
        """The escalated answers of every use case the person reviews, oldest first, a page at a time."""
        use_cases = reviewed_use_case_ids(request.user)
        if not use_cases:
            raise PermissionDenied(_("None of your roles is Responsible for monitoring in any use case's RACI."))
        waiting = awaiting_review(use_cases).select_related("use_case", "model_version")
        page = Paginator(waiting, PAGE_SIZE).get_page(request.GET.get("page"))
        context = self._context(request, str(_("Escalated answers waiting for review")), page=page)
        return TemplateResponse(request, "admin/evidence/escalated_answers.html", context)

    def review_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        if request.method not in ("GET", "POST"):
            return HttpResponseNotAllowed(["GET", "POST"])
        record = get_object_or_404(
            InferenceRecord.objects.select_related("use_case", "model_version", "named_version"), pk=pk
        )
        refusal = answer_review_refusal(record, request.user)
        if refusal and not request.user.has_perm("inference.view_inferencerecord"):
            raise PermissionDenied(refusal)  # what an answer said is not shown to whoever may neither review nor read
        review = review_of(record)
        form = AnswerReviewForm(request.POST if request.method == "POST" else None)
        status = 200
        if review is not None:
            refusal = ""  # decided: the page shows the decision, and offers nothing
        if request.method == "POST":
            status = 400
            if review is not None:
                status = 409
                messages.error(request, str(AnswerAlreadyReviewed(review)))
            elif form.is_valid():
                try:
                    review = answer_review_decide(record=record, actor=request.user, **form.cleaned_data)
                except ActionDenied as denied:
                    refusal, status = denied.reason, 403
                except AnswerAlreadyReviewed as beaten:
                    review, status = beaten.review, 409
                    messages.error(request, str(beaten))
                except ValidationError as invalid:
                    for field, errors in invalid.message_dict.items():
                        form.add_error(field if field in form.fields else None, errors)
                else:
                    messages.success(
                        request, f"You {review.get_decision_display().lower()} answer {record.response_id or record}."
                    )
                    return HttpResponseRedirect(reverse("admin:evidence_trace", args=[record.pk]))
        title = _("Review of answer %(answer)s") % {"answer": record.response_id or record}
        context = self._context(
            request,
            str(title),
            record=record,
            review=review,
            form=form,
            refusal=refusal,
            who_can=printed_names(role_holders(reviewer_roles(record.use_case))) if refusal else [],
            queue_url=reverse("admin:evidence_escalated_answers"),
        )
        return TemplateResponse(request, "admin/evidence/answer_review.html", context, status=status)
