"""Base models, training runs and model versions. The model version page is where a revoked dataset shows up
on the models it reached: a banner names every dataset version of its training run that is no longer approved."""

from typing import Any

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.db.models import Q, QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils.translation import gettext_lazy as _

from accounts.admin.actions import may, refuse
from audit.admin import ReadOnlyAuditAdmin
from audit.admin.display import readable_json
from lineage.choices import DatasetVersionState
from registry.admin.base import (
    ReadOnlyInline,
    RegistryAdmin,
    UnapprovedDataFilter,
    data_flag,
    on_unapproved_data,
    unapproved_links,
)
from registry.admin.pages import form_page
from registry.charts import model_pass_rate_chart
from registry.comparison import compare_model_versions, predecessor
from registry.completeness import model_version_completeness, training_run_completeness
from registry.models import BaseModel, Deployment, ModelCard, ModelVersion, TrainingRun, TrainingRunDataset
from registry.services.cards import model_card_revise

WRITE_CARD = "registry.add_modelcard"

#: Pages of apps further right (which registry may not import) that belong on a model version's page:
#: (label, admin URL name taking the version's pk, permission needed to see the link).
MODEL_VERSION_LINKS: list[tuple[str, str, str]] = []


def register_model_version_link(label: str, url_name: str, permission: str) -> None:
    """Called from a later app's ``ready()``, e.g. evidence's "Evidence packs" page of the version."""
    if (label, url_name, permission) not in MODEL_VERSION_LINKS:
        MODEL_VERSION_LINKS.append((label, url_name, permission))


MAX_SECTION_CHARS = 10_000


@admin.register(BaseModel)
class BaseModelAdmin(RegistryAdmin):
    list_display = ("__str__", "provider", "name", "version", "licence")
    list_filter = ("provider",)
    search_fields = ("provider", "name", "version")


class TrainingDataInline(ReadOnlyInline):
    model = TrainingRunDataset
    fields = ("dataset_version", "state", "content_digest")
    readonly_fields = fields
    show_change_link = False
    verbose_name_plural = _("dataset versions trained on")

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return super().get_queryset(request).select_related("dataset_version__dataset")

    @admin.display(description=_("state now"))
    def state(self, link: TrainingRunDataset) -> str:
        return link.dataset_version.get_state_display()


@admin.register(TrainingRun)
class TrainingRunAdmin(RegistryAdmin):
    list_display = ("run_id", "use_case", "base_model", "status", "started_at", "finished_at", "registered_by")
    list_filter = ("status", "use_case")
    list_select_related = ("use_case", "base_model", "registered_by")
    search_fields = ("run_id", "code_commit", "config_hash")
    search_help_text = _("Run ID, code commit or configuration hash.")
    inlines = [TrainingDataInline]
    exclude = ("random_seeds", "library_versions")
    readonly_fields = ("seeds", "libraries")
    change_form_template = "admin/registry/trainingrun_change_form.html"

    @admin.display(description=_("random seeds"))
    def seeds(self, run: TrainingRun) -> str:
        return readable_json(run.random_seeds)

    @admin.display(description=_("library versions"))
    def libraries(self, run: TrainingRun) -> str:
        return readable_json(run.library_versions)

    def render_change_form(
        self, request: HttpRequest, context: dict, *args: Any, obj: Any = None, **kwargs: Any
    ) -> Any:
        if obj is not None:
            context["completeness"] = training_run_completeness(obj)
        return super().render_change_form(request, context, *args, obj=obj, **kwargs)


@admin.register(TrainingRunDataset)
class TrainingRunDatasetAdmin(ReadOnlyAuditAdmin):
    """Which runs used which dataset versions (append-only; written with the run)."""

    list_display = ("run", "dataset_version", "state", "content_digest")
    list_filter = ("dataset_version__state",)
    list_select_related = ("run", "dataset_version__dataset")
    search_fields = ("run__run_id", "dataset_version__dataset__slug")

    @admin.display(description=_("dataset version state now"))
    def state(self, link: TrainingRunDataset) -> str:
        return link.dataset_version.get_state_display()


@admin.register(ModelVersion)
class ModelVersionAdmin(RegistryAdmin):
    list_display = ("__str__", "training_data", "use_case", "training_run", "registered_by", "registered_at")
    list_filter = (UnapprovedDataFilter, "use_case", "name")
    list_select_related = ("use_case", "training_run", "registered_by")
    search_fields = ("name", "training_run__run_id")
    fields = ("name", "number", "use_case", "weights_digest", "description", "registered_by", "registered_at")
    change_form_template = "admin/registry/modelversion_change_form.html"

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return (
            super()
            .get_queryset(request)
            .annotate(data_unapproved=on_unapproved_data("pk"))
            .prefetch_related(unapproved_links("training_run"))
        )

    def get_search_results(self, request: HttpRequest, queryset: QuerySet, search_term: str) -> tuple[QuerySet, bool]:
        """``support-assistant:7`` finds that version exactly; anything else searches names and run IDs."""
        exact = queryset.filter_identifier(search_term)
        if exact is not None:
            return exact, False
        return super().get_search_results(request, queryset, search_term)

    @admin.display(description=_("training data"), ordering="data_unapproved")
    def training_data(self, version: ModelVersion) -> str:
        return data_flag(version.data_unapproved, version.training_run)

    def get_object(self, request: HttpRequest, object_id: str, from_field: str | None = None) -> Any:
        queryset = ModelVersion.objects.select_related(
            "use_case", "registered_by", "training_run__base_model", "training_run__registered_by"
        )
        try:
            return queryset.get(pk=int(object_id))
        except (ModelVersion.DoesNotExist, ValidationError, ValueError):
            return None

    def render_change_form(
        self, request: HttpRequest, context: dict, *args: Any, obj: Any = None, **kwargs: Any
    ) -> Any:
        if obj is not None:
            context.update(model_version_context(obj))
            context["may_write_card"] = may(request, WRITE_CARD)
            context["completeness"] = model_version_completeness(obj)
            context["compare_url"] = reverse("admin:registry_modelversion_compare", args=[obj.pk])
            context["extra_links"] = [
                (label, reverse(url_name, args=[obj.pk]))
                for label, url_name, permission in MODEL_VERSION_LINKS
                if may(request, permission)
            ]
        return super().render_change_form(request, context, *args, obj=obj, **kwargs)

    def get_urls(self) -> list[URLPattern]:
        return [
            path(
                "<int:pk>/card/",
                self.admin_site.admin_view(self.card_view),
                name="registry_modelversion_card",
            ),
            path(
                "<int:pk>/compare/",
                self.admin_site.admin_view(self.compare_view),
                name="registry_modelversion_compare",
            ),
            *super().get_urls(),
        ]

    def compare_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        """This version beside another (``?with=support-assistant:3``); by default the one it replaced in production,
        else the previous version of the same model."""
        version = get_object_or_404(ModelVersion.objects.select_related("training_run"), pk=pk)
        if not self.has_view_permission(request, version):
            refuse(request, attempted="model_version_compare", obj=version)
        others = ModelVersion.objects.filter(name=version.name).exclude(pk=version.pk).order_by("-number")
        asked = request.GET.get("with", "").strip()[:200]
        error = ""
        if asked:
            other = others.select_related("training_run").identified_by(asked).first()
            if other is None:
                error = f"{asked} is not another version of {version.name}."
        else:
            other = predecessor(version)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "original": version,
            "title": f"{version} compared",
            "others": others.values_list("name", "number"),
            "other": other,
            "error": error,
            "comparison": compare_model_versions(other, version) if other is not None else None,
        }
        return TemplateResponse(request, "admin/registry/comparison.html", context)

    def card_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        """A new revision of the card: the written sections, pre-filled from the latest revision; the generated
        sections are computed from the records when it is saved."""
        version = get_object_or_404(ModelVersion, pk=pk)
        if not may(request, WRITE_CARD):
            refuse(request, attempted="model_card_revise", obj=version)
        latest = version.cards.order_by("-revision").first()
        initial = (
            {name: getattr(latest, name) for name in (*ModelCard.WRITTEN_SECTIONS, "what_changed")} if latest else {}
        )
        return form_page(
            request,
            model_admin=self,
            record=version,
            form=ModelCardForm(request.POST if request.method == "POST" else None, initial=initial),
            title=f"Model card of {version}",
            intro="Saving makes a new revision; earlier revisions stay as they were. Model details, training data, "
            "evaluation and deployments are filled in from the records.",
            perform=lambda data: model_card_revise(model_version=version, actor=request.user, **data),
            success_message=f"New model card revision of {version} saved.",
            submit_label="Save a new revision",
        )


class ModelCardForm(forms.Form):
    """The sections people write; a card is complete when none is empty."""

    intended_use = forms.CharField(label=_("Intended use"), widget=forms.Textarea(attrs={"rows": 3}), required=False)
    out_of_scope_use = forms.CharField(
        label=_("Out-of-scope use"), widget=forms.Textarea(attrs={"rows": 3}), required=False
    )
    known_risks = forms.CharField(
        label=_("Known risks and mitigations"), widget=forms.Textarea(attrs={"rows": 4}), required=False
    )
    escalation_paths = forms.CharField(
        label=_("Escalation paths"), widget=forms.Textarea(attrs={"rows": 3}), required=False
    )
    regulatory_considerations = forms.CharField(
        label=_("Regulatory considerations"), widget=forms.Textarea(attrs={"rows": 3}), required=False
    )
    what_changed = forms.CharField(
        label=_("What changed since the previous version"),
        widget=forms.Textarea(attrs={"rows": 3}),
        required=False,
        help_text=_("Checked against the recorded differences (data, settings): a contradiction raises a flag."),
    )

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        for name, value in list(cleaned.items()):
            if len(value) > MAX_SECTION_CHARS:
                self.add_error(name, f"Keep a section under {MAX_SECTION_CHARS} characters.")
        return cleaned


def model_version_context(version: ModelVersion) -> dict[str, Any]:
    """Everything the model version page lists, each kind of record in one query."""
    links = list(
        version.training_run.dataset_links.select_related("dataset_version__dataset").order_by(
            "dataset_version__dataset__slug", "dataset_version__number"
        )
    )
    deployments = list(
        Deployment.objects.filter(Q(current_version=version) | Q(previous_stable_version=version))
        .select_related("use_case")
        .order_by("environment")
    )
    return {
        "run": version.training_run,
        "data_links": links,
        "unapproved": [link for link in links if link.dataset_version.state != DatasetVersionState.APPROVED],
        "validation_runs": list(version.validation_runs.select_related("suite").order_by("-finished_at", "-id")),
        "gates": list(
            version.gate_decisions.select_related("suite", "threshold_policy", "human_reviewer").order_by(
                "-decided_at", "-id"
            )
        ),
        "tickets": list(version.tickets.select_related("requested_by").order_by("-requested_at", "-id")),
        "deployments": [(deployment, deployment.current_version_id == version.pk) for deployment in deployments],
        "cards": list(version.cards.select_related("created_by").order_by("-revision")),
        "incidents": list(version.incidents.order_by("-detected_at", "-id")[:20]),
        "pass_rate_chart": model_pass_rate_chart(version),
    }
