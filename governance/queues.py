"""The governance work queues on people's landing pages (registered in ``GovernanceConfig.ready``)."""

from collections.abc import Iterator

from django.contrib.auth.models import AbstractBaseUser
from django.urls import reverse

from accounts.choices import Role
from governance.choices import RequirementsState, RevisionState
from governance.models import RaciMatrix, RequirementsDocument, RetrainingCadence, ThresholdPolicy
from governance.worklist import WorkItem, WorkQueue, register_queue

_DECIDERS = frozenset({Role.RISK_OFFICER, Role.COMPLIANCE_REVIEWER})
_ANY_SIGNER = frozenset(set(Role) - {Role.AUDITOR})


def _pending_revisions(user: AbstractBaseUser) -> Iterator[WorkItem]:
    for model in (RaciMatrix, ThresholdPolicy):
        pending = (
            model.objects.filter(state=RevisionState.PENDING)
            .exclude(proposed_by=user)
            .select_related("use_case")
            .order_by("proposed_at")
        )
        for revision in pending:
            url = reverse(f"admin:governance_{model._meta.model_name}_approve", args=[revision.pk])
            yield WorkItem(label=str(revision), url=url, waiting_since=revision.proposed_at)


def _requirements_to_sign(user: AbstractBaseUser) -> Iterator[WorkItem]:
    from governance.services.requirements import open_capacities, valid_signatures

    in_review = RequirementsDocument.objects.filter(state=RequirementsState.IN_REVIEW).exclude(submitted_by=user)
    for document in in_review.exclude(created_by=user).select_related("use_case"):
        valid = valid_signatures(document)
        if user.pk not in {signature.signer_id for signature in valid} and open_capacities(document, user, valid):
            url = reverse("admin:governance_requirementsdocument_sign", args=[document.pk])
            yield WorkItem(label=str(document), url=url)


def _due_for_retraining(user: AbstractBaseUser) -> Iterator[WorkItem]:
    for cadence in RetrainingCadence.objects.filter(due_since__isnull=False).select_related("use_case"):
        url = reverse("admin:governance_usecase_change", args=[cadence.use_case_id])
        yield WorkItem(label=f"{cadence.use_case}: {cadence.due_reason}", url=url, waiting_since=cadence.due_since)


def register() -> None:
    register_queue(
        WorkQueue(
            key="governance.revisions",
            title="RACI and threshold revisions awaiting your decision",
            roles=_DECIDERS,
            items=_pending_revisions,
        )
    )
    register_queue(
        WorkQueue(
            key="governance.requirements",
            title="Requirements awaiting your signature",
            roles=_ANY_SIGNER,
            items=_requirements_to_sign,
        )
    )
    register_queue(
        WorkQueue(
            key="governance.retraining",
            title="Use cases due for retraining",
            roles=frozenset({Role.RISK_OFFICER}),
            items=_due_for_retraining,
        )
    )
