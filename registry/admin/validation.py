"""Validation suites and cases, recorded runs and their results, and gate decisions: the evaluation matrix of a
run, and the signed human review of a borderline gate."""

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import URLPattern, path
from django.utils.translation import gettext_lazy as _

from accounts.admin.actions import attach_service_errors, may, refuse
from accounts.admin.signing import refused_signing
from accounts.authz import printed_names
from accounts.forms import SignatureForm
from accounts.services.signatures import ReauthenticationFailed
from audit.admin import ReadOnlyAuditAdmin
from audit.canonical import record_digest
from audit.ledger import ActionDenied
from audit.signatures import signatures_for
from registry.admin.base import ReadOnlyInline, RegistryAdmin
from registry.admin.matrix import evaluation_matrix, gate_rows
from registry.admin.pages import change_url
from registry.choices import GateOutcome, HumanReviewDecision
from registry.models import GateDecision, ValidationCase, ValidationResult, ValidationRun, ValidationSuite
from registry.services.gates import (
    GATE_REVIEW_PERMISSION,
    HUMAN_REVIEW_MEANINGS,
    gate_human_review,
    gate_human_review_refusal,
    gate_human_reviewers,
    gate_review_on_behalf_of,
)

GATE_REVIEW = GATE_REVIEW_PERMISSION


class ValidationCaseInline(ReadOnlyInline):
    model = ValidationCase
    fields = ("key", "dimension", "category", "expected_behaviour", "language", "prompt")
    readonly_fields = fields


@admin.register(ValidationSuite)
class ValidationSuiteAdmin(RegistryAdmin):
    list_display = ("__str__", "title", "use_case", "created_by", "created_at", "frozen_at")
    list_filter = ("use_case",)
    list_select_related = ("use_case", "created_by")
    search_fields = ("slug", "title")
    inlines = [ValidationCaseInline]


@admin.register(ValidationCase)
class ValidationCaseAdmin(RegistryAdmin):
    list_display = ("key", "suite", "dimension", "category", "expected_behaviour", "language")
    list_filter = ("category", "dimension", "expected_behaviour")
    list_select_related = ("suite",)
    search_fields = ("key", "prompt")


@admin.register(ValidationRun)
class ValidationRunAdmin(RegistryAdmin):
    list_display = ("__str__", "model_version", "suite", "result_count", "executed_by", "finished_at")
    list_filter = ("suite",)
    list_select_related = ("model_version", "suite")
    search_fields = ("model_version__name", "executed_by")
    change_form_template = "admin/registry/validationrun_change_form.html"

    def get_urls(self) -> list[URLPattern]:
        return [
            path(
                "<int:pk>/matrix/",
                self.admin_site.admin_view(self.matrix_view),
                name="registry_validationrun_matrix",
            ),
            *super().get_urls(),
        ]

    def get_queryset(self, request: HttpRequest) -> Any:
        return super().get_queryset(request).select_related("model_version", "suite")

    def matrix_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        """The run's matrix under the figures of its latest gate decision (or the one ``?gate=`` names)."""
        run = get_object_or_404(self.get_queryset(request), pk=pk)
        if not self.has_view_permission(request, run):
            refuse(request, attempted="view evaluation matrix", obj=run)
        gates = run.gate_decisions.select_related("threshold_policy", "suite").order_by("-decided_at", "-id")
        chosen = request.GET.get("gate", "")
        gate = gates.filter(pk=int(chosen)).first() if chosen.isdigit() else gates.first()
        return matrix_page(self, request, run, gate)


def matrix_page(model_admin: admin.ModelAdmin, request: HttpRequest, run: ValidationRun, gate: Any) -> HttpResponse:
    context = {
        **model_admin.admin_site.each_context(request),
        "opts": ValidationRun._meta,
        "original": run,
        "title": f"Evaluation matrix: {run.model_version} on {run.suite}",
        "matrix": evaluation_matrix(run),
        "gate": gate,
        "figures": gate_rows(gate) if gate else [],
    }
    return TemplateResponse(request, "admin/registry/evaluation_matrix.html", context)


@admin.register(ValidationResult)
class ValidationResultAdmin(ReadOnlyAuditAdmin):
    """Results are written once with their run (append-only); the run's digest covers them."""

    list_display = ("run", "case", "attempt", "outcome", "score", "human_reviewer")
    list_filter = ("outcome", "case__category")
    list_select_related = ("run__model_version", "run__suite", "case", "human_reviewer")
    search_fields = ("case__key",)


class HumanReviewForm(forms.Form):
    verdict = forms.ChoiceField(
        label=_("Decision"), choices=HumanReviewDecision.choices, widget=forms.RadioSelect, required=True
    )
    note = forms.CharField(
        label=_("What the review found"), widget=forms.Textarea(attrs={"rows": 4}), max_length=4000, required=True
    )


@admin.register(GateDecision)
class GateDecisionAdmin(RegistryAdmin):
    list_display = (
        "__str__",
        "model_version",
        "outcome",
        "human_decision",
        "suite",
        "threshold_revision",
        "decided_at",
    )
    list_filter = ("outcome", "human_decision")
    list_select_related = ("model_version", "suite", "threshold_policy")
    search_fields = ("model_version__name",)
    fields = (
        "model_version",
        "validation_run",
        "suite",
        "threshold_policy",
        "outcome",
        "decided_at",
        "human_decision",
        "human_reviewer",
        "human_review_note",
    )
    change_form_template = "admin/registry/gatedecision_change_form.html"

    @admin.display(description=_("threshold revision"), ordering="threshold_policy__revision")
    def threshold_revision(self, gate: GateDecision) -> int:
        return gate.threshold_policy.revision

    def get_queryset(self, request: HttpRequest) -> Any:
        return (
            super()
            .get_queryset(request)
            .select_related(
                "model_version__training_run", "validation_run", "suite", "threshold_policy", "human_reviewer"
            )
        )

    def get_urls(self) -> list[URLPattern]:
        return [
            path(
                "<int:pk>/matrix/",
                self.admin_site.admin_view(self.matrix_view),
                name="registry_gatedecision_matrix",
            ),
            path(
                "<int:pk>/human-review/",
                self.admin_site.admin_view(self.human_review_view),
                name="registry_gatedecision_human_review",
            ),
            *super().get_urls(),
        ]

    def render_change_form(
        self, request: HttpRequest, context: dict, *args: Any, obj: Any = None, **kwargs: Any
    ) -> Any:
        if obj is not None:
            later = GateDecision.objects.filter(model_version_id=obj.model_version_id, decided_at__gt=obj.decided_at)
            context.update(
                {
                    "figures": gate_rows(obj),
                    "signatures": signatures_for(obj),
                    "superseded": later.exists(),
                    "awaiting_review": awaiting_review(obj),
                    "may_review": awaiting_review(obj) and may(request, GATE_REVIEW),
                }
            )
        return super().render_change_form(request, context, *args, obj=obj, **kwargs)

    def matrix_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        gate = get_object_or_404(self.get_queryset(request), pk=pk)
        if not self.has_view_permission(request, gate):
            refuse(request, attempted="view evaluation matrix", obj=gate)
        run = ValidationRun.objects.select_related("model_version", "suite").get(pk=gate.validation_run_id)
        return matrix_page(self, request, run, gate)

    def human_review_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        """A risk officer accepts or rejects a borderline gate: the decision, a note, and the signature."""
        gate = get_object_or_404(self.get_queryset(request).select_related("model_version__training_run"), pk=pk)
        refusal = gate_human_review_refusal(gate, request.user)
        data = request.POST if request.method == "POST" else None
        decision = HumanReviewForm(data)
        meaning = HUMAN_REVIEW_MEANINGS.get(request.POST.get("verdict", ""), "Borderline gate decided after review")
        signature = SignatureForm(data, request=request, meaning=meaning, with_note=False)
        status = 200
        if refusal:
            status = refused_signing(request, record=gate, meaning=meaning, refusal=refusal)
        elif request.method == "POST":
            status = 400
            if decision.is_valid() and signature.is_valid():
                try:
                    gate_human_review(
                        decision=gate, reviewer=request.user, **decision.cleaned_data, **signature.credentials()
                    )
                except ActionDenied as denial:
                    signature.add_error(None, denial.reason)
                    status = 403
                    if isinstance(denial, ReauthenticationFailed):
                        signature.reauthentication_failed()  # counts towards the sign-in lockout
                except ValidationError as error:
                    attach_service_errors(decision, error)
                else:
                    signature.mark_session_signed()
                    verdict = HumanReviewDecision(decision.cleaned_data["verdict"]).label.lower()
                    messages.success(request, f"You signed the human review of {gate}: {verdict}.")
                    return HttpResponseRedirect(change_url(gate))
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "original": gate,
            "title": f"Human review: {gate}",
            "decision_form": decision,
            "form": signature,
            "meanings": list(HUMAN_REVIEW_MEANINGS.values()),
            "record_digest": record_digest(gate),
            "figures": gate_rows(gate),
            "cancel_url": change_url(gate),
            "refusal": refusal,
            "who_can": printed_names(gate_human_reviewers(gate)),
            "on_behalf_of": None if refusal else gate_review_on_behalf_of(gate, request.user),
        }
        return TemplateResponse(request, "admin/registry/human_review.html", context, status=status)


def awaiting_review(gate: GateDecision) -> bool:
    return gate.outcome == GateOutcome.BORDERLINE and not gate.human_decision
