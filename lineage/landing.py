"""The lineage app's landing panels and record finder (registered in ``LineageConfig.ready``): the dataset versions
a maker drafted or submitted and where each waits, and ``support-chats@3`` in the search box."""

from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import Q
from django.urls import reverse

from accounts.choices import Role
from governance.landing import TABLE_PANEL, Cell, FoundRecord, LandingPanel, register_finder, register_panel, table
from lineage.choices import DatasetVersionState
from lineage.models import DatasetVersion, DatasetVersionReviewer
from lineage.selectors import stage_of

PROPOSED_SHOWN = 8


def _where_it_waits(version: DatasetVersion, reviewers: dict[tuple[int, str], list[str]]) -> str:
    stage = stage_of(version)
    if stage is not None:
        names = reviewers.get((version.pk, stage.permission))
        who = f"with {', '.join(names)}" if names else "no reviewer assigned yet"
        return f"Waits at {version.get_state_display()}, {who}"
    if version.state == DatasetVersionState.DRAFT:
        return "Draft: yours to complete and submit"
    return version.get_state_display()


def _versions_proposed(user: AbstractBaseUser) -> dict[str, Any]:
    """The user's versions, newest first, with the reviewer of each one's current stage: three queries in all."""
    versions = list(
        DatasetVersion.objects.filter(Q(created_by=user) | Q(submitted_by=user))
        .select_related("dataset")
        .order_by("-created_at", "-pk")[:PROPOSED_SHOWN]
    )
    reviewers: dict[tuple[int, str], list[str]] = {}
    assignments = DatasetVersionReviewer.objects.filter(content_object__in=versions).select_related(
        "user", "permission"
    )
    for assignment in assignments:
        name = assignment.user.get_full_name() or assignment.user.get_username()
        reviewers.setdefault((assignment.content_object_id, assignment.permission.codename), []).append(name)
    rows = [
        [
            Cell(str(version), reverse("admin:lineage_datasetversion_change", args=[version.pk])),
            Cell(_where_it_waits(version, reviewers)),
        ]
        for version in versions
    ]
    return table(["Dataset version", "Where it is"], rows, empty="You have registered no dataset version.")


def _find_dataset_version(term: str) -> FoundRecord | None:
    named = DatasetVersion.objects.filter_identifier(term)
    version = named.select_related("dataset").first() if named is not None else None
    if version is None:
        return None
    return FoundRecord(f"Dataset version {version}", reverse("admin:lineage_datasetversion_change", args=[version.pk]))


def register() -> None:
    register_panel(
        LandingPanel(
            key="lineage.versions_proposed",
            title="Dataset versions you registered",
            roles=frozenset({Role.ML_ENGINEER, Role.DATA_STEWARD}),
            template=TABLE_PANEL,
            context=_versions_proposed,
            order=50,
        )
    )
    register_finder("lineage.dataset_version", _find_dataset_version)
