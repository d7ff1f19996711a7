"""The lineage work queues on people's landing pages (registered in ``LineageConfig.ready``)."""

from collections.abc import Iterator
from functools import reduce
from operator import or_

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import Q
from django.urls import reverse

from governance.worklist import WorkItem, WorkQueue, register_queue
from lineage.choices import STAGES
from lineage.models import DatasetVersionReviewer


def _waiting_for_my_review(user: AbstractBaseUser) -> Iterator[WorkItem]:
    """Versions at a stage whose assigned reviewer is this user: one query, whatever the number of stages."""
    at_their_stage = reduce(
        or_, (Q(permission__codename=stage.permission, content_object__state=stage.state) for stage in STAGES)
    )
    assignments = (
        DatasetVersionReviewer.objects.filter(at_their_stage, user=user)
        .select_related("content_object__dataset")
        .order_by("content_object__submitted_at", "content_object_id")
    )
    for assignment in assignments:
        version = assignment.content_object
        yield WorkItem(
            label=f"{version} ({version.get_state_display()}, revision {version.revision})",
            url=reverse("admin:lineage_datasetversion_change", args=[version.pk]),
            waiting_since=version.submitted_at,
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
