"""Use cases, with their RACI grid page and thresholds page (both propose revisions under change control)."""

import hashlib
from decimal import Decimal
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils.translation import gettext_lazy as _

from accounts.admin.role_gated import RoleGatedAdmin
from accounts.authz import holds_approval_permission
from accounts.choices import Role
from audit.access import access_record
from audit.admin.display import readable_json
from audit.admin.governed import GovernedAdmin
from audit.choices import AccessKind
from audit.ledger import ActionDenied
from governance.choices import EvaluationDimension, LifecycleStage, RaciLetter, RevisionState
from governance.models import RaciMatrix, ThresholdPolicy, UseCase
from governance.oscal import NothingToExport, component_definition_json
from governance.services.raci import effective_raci, raci_revision_propose
from governance.services.thresholds import RuleInput, effective_thresholds, threshold_revision_propose
from governance.services.usecases import clean_jurisdictions, use_case_create, use_case_update

#: Downloads of apps further right (which governance may not import) that belong on a use case's page, beside its
#: component definition: (label, admin URL name taking the use case's pk, tooltip).
USE_CASE_LINKS: list[tuple[str, str, str]] = []


def register_use_case_link(label: str, url_name: str, tooltip: str = "") -> None:
    """Called from a later app's ``ready()``, e.g. evidence's OSCAL assessment results of the use case. The link is
    shown to whoever sees the use case's page; its view checks that they may view the use case."""
    if (label, url_name, tooltip) not in USE_CASE_LINKS:
        USE_CASE_LINKS.append((label, url_name, tooltip))


#: Letters, not words, so that nine functions fit across one screen; the legend under the grid spells them out.
_LETTERS = [("", "-"), *((letter.value, letter.value) for letter in RaciLetter)]


def attach_service_errors(form: forms.Form, error: ValidationError) -> None:
    """A service's errors keyed by form field go to that field; keyed by a row (a stage, a dimension), to that
    row, which the template shows beside it; the rest above the form."""
    for key, problems in error.message_dict.items():
        if key in form.fields:
            form.add_error(key, problems)
        else:
            form._errors.setdefault(key, form.error_class()).extend(problems)


def cell_name(stage: str, role: str) -> str:
    return f"cell__{stage}__{role.replace(' ', '_')}"


class RaciGridForm(forms.Form):
    """Seven stages x nine functions of selects: one page, not dozens of inline rows."""

    rationale = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), max_length=2000, label="Why does it change?")

    def __init__(self, *args: Any, initial_grid: dict[tuple[str, str], str] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for stage in LifecycleStage:
            for role in Role:
                self.fields[cell_name(stage.value, role.value)] = forms.ChoiceField(
                    choices=_LETTERS,
                    required=False,
                    label=f"{stage.label} / {role.label}",
                    initial=(initial_grid or {}).get((stage.value, role.value), ""),
                )

    def grid(self) -> dict[tuple[str, str], str]:
        return {
            (stage.value, role.value): self.cleaned_data[cell_name(stage.value, role.value)]
            for stage in LifecycleStage
            for role in Role
        }

    def rows(self) -> list[tuple[LifecycleStage, list[forms.BoundField], list[str]]]:
        return [
            (stage, [self[cell_name(stage.value, role.value)] for role in Role], self.errors.get(stage.value, []))
            for stage in LifecycleStage
        ]


class ThresholdsForm(forms.Form):
    rationale = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), max_length=2000, label="Why do they change?")

    def __init__(self, *args: Any, initial_rules: dict[str, dict] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for dimension in EvaluationDimension:
            current = (initial_rules or {}).get(dimension.value, {})
            percent = {"max_digits": 5, "decimal_places": 2, "min_value": Decimal(0), "max_value": Decimal(100)}
            self.fields[f"{dimension.value}__rate"] = forms.DecimalField(
                required=False, initial=current.get("min_pass_rate"), label=f"{dimension.label} minimum %", **percent
            )
            self.fields[f"{dimension.value}__band"] = forms.DecimalField(
                required=False, initial=current.get("borderline_band"), label=f"{dimension.label} band", **percent
            )
            self.fields[f"{dimension.value}__scope"] = forms.CharField(
                required=False, max_length=300, initial=current.get("scope_note", ""), label=f"{dimension.label} scope"
            )

    def rules(self) -> dict[str, RuleInput]:
        data = self.cleaned_data
        return {
            dimension.value: RuleInput(
                min_pass_rate=data[f"{dimension.value}__rate"],
                borderline_band=data[f"{dimension.value}__band"] or Decimal(0),
                scope_note=data[f"{dimension.value}__scope"],
            )
            for dimension in EvaluationDimension
            if data.get(f"{dimension.value}__rate") is not None
        }

    def rows(self) -> list[tuple[EvaluationDimension, list[forms.BoundField], list[str]]]:
        return [
            (
                dimension,
                [self[f"{dimension.value}__{part}"] for part in ("rate", "band", "scope")],
                [*self.errors.get(dimension.value, []), *self.errors.get(f"{dimension.value}_band", [])],
            )
            for dimension in EvaluationDimension
        ]


class UseCaseForm(forms.ModelForm):
    jurisdictions = forms.CharField(required=False, help_text="Comma-separated codes, e.g. EU, UK, US-NY")

    class Meta:
        model = UseCase
        fields = (
            "name",
            "slug",
            "business_objective",
            "owner",
            "regulated_domain",
            "jurisdictions",
            "eu_ai_act_risk_tier",
            "internal_risk_tier",
            "status",
        )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.initial["jurisdictions"] = ", ".join(self.instance.jurisdictions)

    def clean_jurisdictions(self) -> list[str]:
        return clean_jurisdictions(self.cleaned_data["jurisdictions"])


@admin.register(UseCase)
class UseCaseAdmin(RoleGatedAdmin, GovernedAdmin):
    form = UseCaseForm
    list_display = ("name", "regulated_domain", "eu_ai_act_risk_tier", "internal_risk_tier", "status", "owner")
    list_filter = ("status", "regulated_domain", "eu_ai_act_risk_tier", "internal_risk_tier")
    list_select_related = ("owner",)
    search_fields = ("name", "slug")
    raw_id_fields = ("owner",)
    change_form_template = "admin/governance/usecase_change_form.html"

    def get_readonly_fields(self, request: HttpRequest, obj: UseCase | None = None) -> list[str]:
        if obj is not None and not self.has_change_permission(request, obj):
            return ["jurisdictions_text"]  # read-only: Django makes every other field read-only itself
        return ["slug"] if obj is not None else []

    def get_exclude(self, request: HttpRequest, obj: UseCase | None = None) -> list[str]:
        """People who only read the use case see its jurisdictions as text ("EU, UK"), not as JSON."""
        excluded = list(super().get_exclude(request, obj) or [])
        return (
            [*excluded, "jurisdictions"]
            if obj is not None and not self.has_change_permission(request, obj)
            else excluded
        )

    @admin.display(description=_("jurisdictions"))
    def jurisdictions_text(self, use_case: UseCase) -> str:
        return readable_json(use_case.jurisdictions)

    def save_model(self, request: HttpRequest, obj: UseCase, form: Any, change: bool) -> None:
        fields = {name: form.cleaned_data[name] for name in UseCaseForm.Meta.fields if name in form.cleaned_data}
        if change:
            fields.pop("slug", None)
            saved = use_case_update(use_case=obj, actor=request.user, **fields)
        else:
            saved = use_case_create(actor=request.user, **fields)
        obj.pk = saved.pk

    def render_change_form(
        self, request: HttpRequest, context: dict, *args: Any, obj: UseCase | None = None, **kwargs: Any
    ) -> HttpResponse:
        if obj is not None:
            context["extra_links"] = [
                (label, reverse(url_name, args=[obj.pk]), tooltip) for label, url_name, tooltip in USE_CASE_LINKS
            ]
        return super().render_change_form(request, context, *args, obj=obj, **kwargs)

    def get_urls(self) -> list[URLPattern]:
        return [
            path("<int:pk>/raci/", self.admin_site.admin_view(self.raci_view), name="governance_usecase_raci"),
            path(
                "<int:pk>/thresholds/",
                self.admin_site.admin_view(self.thresholds_view),
                name="governance_usecase_thresholds",
            ),
            path(
                "<int:pk>/oscal-component-definition/",
                self.admin_site.admin_view(self.oscal_component_definition_view),
                name="governance_usecase_oscal_component_definition",
            ),
            *super().get_urls(),
        ]

    def oscal_component_definition_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        """The use case's control mapping as an OSCAL component definition, for the GRC platform; an export, so
        recorded as an access event (and in the ledger)."""
        use_case = get_object_or_404(UseCase, pk=pk)
        if not self.has_view_permission(request, use_case):
            raise PermissionDenied
        try:
            document = component_definition_json(use_case)
        except NothingToExport as nothing:
            messages.error(request, str(nothing))
            return HttpResponseRedirect(reverse("admin:governance_usecase_change", args=[pk]))
        access_record(
            user=request.user,
            kind=AccessKind.EXPORT,
            obj=use_case,
            detail={"format": "oscal-component-definition", "sha256": hashlib.sha256(document).hexdigest()},
        )
        response = HttpResponse(document, content_type="application/json")
        response["Content-Disposition"] = f'attachment; filename="{use_case.slug}-component-definition.json"'
        return response

    def raci_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        use_case = get_object_or_404(UseCase, pk=pk)
        if not self.has_view_permission(request, use_case):
            raise PermissionDenied
        effective = effective_raci(use_case)
        pending = RaciMatrix.objects.filter(use_case=use_case, state=RevisionState.PENDING).first()
        may_propose = holds_approval_permission(request.user, "governance.add_racimatrix")
        form = RaciGridForm(request.POST or None, initial_grid=effective.grid() if effective else {})
        status = 200
        if request.method == "POST":
            if not may_propose:
                raise PermissionDenied
            status = 400
            if form.is_valid():
                try:
                    matrix = raci_revision_propose(
                        use_case=use_case,
                        actor=request.user,
                        grid=form.grid(),
                        rationale=form.cleaned_data["rationale"],
                    )
                except ValidationError as error:
                    attach_service_errors(form, error)
                except ActionDenied as denial:
                    form.add_error(None, denial.reason)
                    status = 409
                else:
                    messages.success(
                        request,
                        f"RACI revision {matrix.revision} proposed. It takes effect when another Risk Officer "
                        "or a Compliance reviewer approves it.",
                    )
                    return HttpResponseRedirect(reverse("admin:governance_usecase_raci", args=[pk]))
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "original": use_case,
            "title": f"RACI: {use_case}",
            "form": form,
            "roles": list(Role),
            "effective": effective,
            "pending": pending,
            "may_propose": may_propose,
        }
        return TemplateResponse(request, "admin/governance/raci_grid.html", context, status=status)

    def thresholds_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        use_case = get_object_or_404(UseCase, pk=pk)
        if not self.has_view_permission(request, use_case):
            raise PermissionDenied
        return thresholds_page(self, request, use_case)


def thresholds_page(model_admin: admin.ModelAdmin, request: HttpRequest, use_case: UseCase | None) -> HttpResponse:
    """The thresholds editor of a use case, or of the organisation default (``use_case`` None)."""
    effective = effective_thresholds(use_case)
    own = effective if effective is not None and effective.use_case_id == (use_case.pk if use_case else None) else None
    pending = ThresholdPolicy.objects.filter(use_case=use_case, state=RevisionState.PENDING).first()
    may_propose = holds_approval_permission(request.user, "governance.add_thresholdpolicy")
    form = ThresholdsForm(request.POST or None, initial_rules=effective.content() if effective else {})
    status = 200
    if request.method == "POST":
        if not may_propose:
            raise PermissionDenied
        status = 400
        if form.is_valid():
            try:
                policy = threshold_revision_propose(
                    use_case=use_case, actor=request.user, rules=form.rules(), rationale=form.cleaned_data["rationale"]
                )
            except ValidationError as error:
                attach_service_errors(form, error)
            except ActionDenied as denial:
                form.add_error(None, denial.reason)
                status = 409
            else:
                messages.success(
                    request,
                    f"Threshold revision {policy.revision} proposed. It takes effect when another Risk Officer "
                    "or a Compliance reviewer approves it.",
                )
                return HttpResponseRedirect(request.path)
    context = {
        **model_admin.admin_site.each_context(request),
        "opts": UseCase._meta,
        "original": use_case,
        "title": f"Evaluation thresholds: {use_case or 'organisation default'}",
        "form": form,
        "effective": effective,
        "inherited": effective is not None and own is None,
        "pending": pending,
        "may_propose": may_propose,
    }
    return TemplateResponse(request, "admin/governance/thresholds.html", context, status=status)
