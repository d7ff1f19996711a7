"""The reviewers' work queue on the landing page (registered in ``EvidenceConfig.ready``, beside the pages it leads
to): escalated answers of the use cases whose RACI makes one of the person's roles Responsible for monitoring,
oldest first."""

from collections.abc import Iterator

from django.contrib.auth.models import AbstractBaseUser
from django.urls import reverse

from accounts.choices import Role
from governance.worklist import WorkItem, WorkQueue, register_queue
from inference.reviews import awaiting_review, reviewed_use_case_ids

#: Any function a RACI may make Responsible for monitoring; the Auditor's is read-only by design.
REVIEWING_ROLES = frozenset(role for role in Role if role != Role.AUDITOR)
#: Answers shown on the landing page: fetched no further, since thousands may wait; the queue's page has the rest.
SHOWN = 10


def _escalated_answers(user: AbstractBaseUser) -> Iterator[WorkItem]:
    use_cases = reviewed_use_case_ids(user)
    if not use_cases:
        return
    for record in awaiting_review(use_cases).select_related("use_case")[:SHOWN]:
        yield WorkItem(
            label=f"{record.response_id or record} ({record.use_case.slug}, {record.get_environment_display()})",
            url=reverse("admin:evidence_answer_review", args=[record.pk]),
            waiting_since=record.started_at,
        )


def register() -> None:
    register_queue(
        WorkQueue(
            key="evidence.escalated_answers",
            title="Escalated answers waiting for review",
            roles=REVIEWING_ROLES,
            items=_escalated_answers,
            limit=SHOWN,
            page_url_name="admin:evidence_escalated_answers",
        )
    )
