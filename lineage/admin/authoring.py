"""A draft version's own page, for the people who author lineage (data stewards, ML engineers): edit the
lineage record, add a source, a transformation step or a parent version, and submit it for review. A data
steward assigns the reviewer of the stage a submitted version waits at. Every button calls one service; once
the version is submitted the editing buttons are gone, and the services refuse a direct post, saying why."""

from collections.abc import Callable
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.urls import URLPattern, path, reverse

from accounts.admin.actions import may, refuse
from audit.ledger import ActionDenied
from lineage.admin.pages import form_page
from lineage.choices import DatasetVersionState
from lineage.forms import (
    AssignReviewerForm,
    LineageRecordForm,
    LineageSourceForm,
    ParentVersionForm,
    TransformationStepForm,
)
from lineage.models import DatasetVersion
from lineage.selectors import assigned_reviewers, stage_of, submission_problems
from lineage.services import (
    dataset_version_assign_reviewer,
    dataset_version_submit,
    lineage_edge_add,
    lineage_record_update,
    lineage_source_add,
    transformation_step_add,
)

AUTHOR = "lineage.change_datasetversion"
ASSIGN = "lineage.assign_reviewers_datasetversion"


def authoring_context(request: HttpRequest, version: DatasetVersion) -> dict[str, Any]:
    """What the version's page shows of the authoring and assignment controls, to whom."""
    stage = stage_of(version)
    draft = version.state == DatasetVersionState.DRAFT
    may_author = draft and may(request, AUTHOR)
    return {
        "may_author": may_author,
        "submission_problems": submission_problems(version) if may_author else [],
        "may_assign": stage is not None and may(request, ASSIGN),
        "assigned_reviewers": assigned_reviewers(version, stage) if stage is not None else [],
    }


class DraftAuthoringMixin(admin.ModelAdmin):
    """The authoring and assignment pages of ``DatasetVersionAdmin``, each a thin call of one service."""

    def authoring_urls(self) -> list[URLPattern]:
        name = "lineage_datasetversion"
        views = [
            ("lineage", self.record_view, "record"),
            ("add-source", self.source_view, "add_source"),
            ("add-step", self.step_view, "add_step"),
            ("add-parent", self.parent_view, "add_parent"),
            ("submit", self.submit_view, "submit"),
            ("assign-reviewer", self.assign_reviewer_view, "assign_reviewer"),
        ]
        return [
            path(f"<int:pk>/{route}/", self.admin_site.admin_view(view), name=f"{name}_{suffix}")
            for route, view, suffix in views
        ]

    def _version(self, pk: int) -> DatasetVersion:
        return get_object_or_404(DatasetVersion.objects.select_related("dataset", "lineage"), pk=pk)

    def _page(self, version: DatasetVersion) -> str:
        return reverse("admin:lineage_datasetversion_change", args=[version.pk])

    def _draft_form_page(
        self,
        request: HttpRequest,
        pk: int,
        *,
        attempted: str,
        form_class: type[forms.Form],
        title: str,
        perform: Callable[[DatasetVersion, dict[str, Any]], object],
        done: str,
        form_kwargs: Callable[[DatasetVersion], dict[str, Any]] = lambda _version: {},
        submit_label: str = "Save",
        error_field: str | None = None,
    ) -> HttpResponse:
        """The common shape of the four editing pages: authors only; the form; the service; back to the version."""
        version = self._version(pk)
        if not may(request, AUTHOR):
            refuse(request, attempted=attempted, obj=version)
        form = form_class(request.POST or None, **form_kwargs(version))
        closed = ""
        if version.state != DatasetVersionState.DRAFT:
            closed = (
                f"{version} is {version.get_state_display().lower()}; only a draft can change. "
                "A submitted version is immutable: register a new version instead."
            )
        return form_page(
            request,
            model_admin=self,
            form=form,
            original=version,
            title=f"{title}: {version}",
            perform=lambda data: perform(version, data),
            success=lambda _result: (self._page(version), done),
            cancel_url=self._page(version),
            closed=closed,
            submit_label=submit_label,
            error_field=error_field,
        )

    def record_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        return self._draft_form_page(
            request,
            pk,
            attempted="lineage_record_update",
            form_class=LineageRecordForm,
            form_kwargs=lambda version: {"instance": version.lineage},
            title="Lineage record",
            perform=lambda version, data: lineage_record_update(version=version, actor=request.user, **data),
            done="Lineage record saved.",
        )

    def source_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        return self._draft_form_page(
            request,
            pk,
            attempted="lineage_source_add",
            form_class=LineageSourceForm,
            title="Add a source",
            perform=lambda version, data: lineage_source_add(version=version, actor=request.user, **data),
            done="Source added.",
            submit_label="Add source",
        )

    def step_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        return self._draft_form_page(
            request,
            pk,
            attempted="transformation_step_add",
            form_class=TransformationStepForm,
            title="Add a transformation step",
            perform=lambda version, data: transformation_step_add(version=version, actor=request.user, **data),
            done="Transformation step added.",
            submit_label="Add step",
        )

    def parent_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        return self._draft_form_page(
            request,
            pk,
            attempted="lineage_edge_add",
            form_class=ParentVersionForm,
            form_kwargs=lambda version: {"child": version},
            title="Add a parent version",
            perform=lambda version, data: lineage_edge_add(child=version, parent=data["parent"], actor=request.user),
            done="Parent version added.",
            submit_label="Add parent",
            error_field="parent",
        )

    def submit_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        """A button on the version's page. Every problem that stops the submission is listed there."""
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        version = self._version(pk)
        if not may(request, AUTHOR):
            refuse(request, attempted="dataset_version_submit", obj=version)
        try:
            submitted = dataset_version_submit(version=version, actor=request.user)
        except ActionDenied as denial:
            messages.error(request, denial.reason)
        except ValidationError as error:
            messages.error(request, f"Not submitted: {version} needs these fixed first.")
            for problem in error.messages:
                messages.error(request, problem)
        else:
            reviewers = assigned_reviewers(submitted, stage_of(submitted))
            assigned = f"assigned to {reviewers[0].get_username()}" if reviewers else "no reviewer could be assigned"
            messages.success(request, f"Submitted {submitted} for Legal review ({assigned}).")
        return HttpResponseRedirect(self._page(version))

    def assign_reviewer_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        version = self._version(pk)
        if not may(request, ASSIGN):
            refuse(request, attempted="assign_reviewer", obj=version)
        stage = stage_of(version)
        form = AssignReviewerForm(request.POST or None, group=stage.role.value if stage else None)
        intro = closed = ""
        if stage is None:
            closed = f"{version} is {version.get_state_display().lower()}, not awaiting review."
        else:
            names = ", ".join(person.get_username() for person in assigned_reviewers(version, stage)) or "nobody yet"
            intro = f"{version} is at the {version.get_state_display()} stage; assigned now: {names}."
        return form_page(
            request,
            model_admin=self,
            form=form,
            original=version,
            title=f"Assign a reviewer: {version}",
            perform=lambda data: dataset_version_assign_reviewer(
                version=version, reviewer=data["reviewer"], actor=request.user
            ),
            success=lambda _result: (self._page(version), f"Reviewer of {version} assigned."),
            cancel_url=self._page(version),
            submit_label="Assign",
            intro=intro,
            closed=closed,
        )
