"""The lineage work queues on people's landing pages (registered in ``LineageConfig.ready``)."""

from collections.abc import Iterator
from functools import reduce
from operator import or_

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import Min, OuterRef, Q, Subquery
from django.urls import reverse

from accounts.services.delegations import delegations_to
from governance.worklist import WorkItem, WorkQueue, register_queue
from lineage.choices import STAGES
from lineage.models import DatasetVersion, DatasetVersionReviewer, LineageRecord
from lineage.risk import assess


def _risk_tier(version: object) -> str:
    """The version's risk level (low to critical) sets how long its review may wait; no record yet: medium."""
    try:
        record = version.lineage
    except LineageRecord.DoesNotExist:
        return "medium"
    return assess(record).level


def _waiting_for_my_review(user: AbstractBaseUser) -> Iterator[WorkItem]:
    """Versions at a stage whose assigned reviewer is this user, or someone away for whom they stand in (a
    delegation in that stage's role): one query for the assignments, whatever the number of stages."""
    standing_in = {}  # role -> the people away whose reviews in that role this user signs
    for delegation in delegations_to(user):
        standing_in.setdefault(delegation.role, []).append(delegation.delegator)
    whose = reduce(
        or_,
        (
            Q(permission__codename=stage.permission, content_object__state=stage.state)
            & Q(user__in=[user.pk, *(person.pk for person in standing_in.get(stage.role.value, []))])
            for stage in STAGES
        ),
    )
    # When the version reached its current stage: its first history row in this state and revision (stages only
    # move forward within a revision; asking for changes starts a new one).
    reached_stage = (
        DatasetVersion.history.model.objects.filter(
            id=OuterRef("content_object_id"),
            state=OuterRef("content_object__state"),
            revision=OuterRef("content_object__revision"),
        )
        .values("id")
        .annotate(first=Min("history_date"))
        .values("first")
    )
    assignments = (
        DatasetVersionReviewer.objects.filter(whose)
        .annotate(stage_entered_at=Subquery(reached_stage))
        .select_related("content_object__dataset", "content_object__lineage", "user")
        .prefetch_related("content_object__lineage__sources")
        .order_by("stage_entered_at", "content_object_id")
    )
    for assignment in assignments:
        version = assignment.content_object
        behalf = ""
        if assignment.user_id != user.pk:
            behalf = f", on behalf of {assignment.user.get_full_name() or assignment.user.get_username()}"
        yield WorkItem(
            label=f"{version} ({version.get_state_display()}, revision {version.revision}{behalf})",
            url=reverse("admin:lineage_datasetversion_change", args=[version.pk]),
            waiting_since=assignment.stage_entered_at or version.submitted_at,
            risk_tier=_risk_tier(version),
        )


def register() -> None:
    register_queue(
        WorkQueue(
            key="lineage.reviews",
            title="Dataset versions waiting for my review",
            roles=frozenset(stage.role for stage in STAGES),
            items=_waiting_for_my_review,
        )
    )
