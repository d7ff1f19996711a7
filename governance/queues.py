"""The governance work queues on people's landing pages (registered in ``GovernanceConfig.ready``)."""

from collections.abc import Iterable, Iterator

from django.contrib.auth.models import AbstractBaseUser
from django.urls import reverse

from accounts.authz import printed_names
from accounts.choices import AccessReviewState, Role, RoleGrantState
from accounts.models import AccessReview, RoleGrant
from accounts.roles import ROLE_OWNERS
from accounts.services.delegations import current_delegations
from governance.choices import RequirementsState, RevisionState
from governance.models import RaciMatrix, RequirementsDocument, RetrainingCadence, ThresholdPolicy
from governance.models.revisions import ChangeControlledRevision
from governance.services.revisions import revision_on_behalf_of
from governance.worklist import WorkItem, WorkQueue, register_queue

_DECIDERS = frozenset({Role.RISK_OFFICER, Role.COMPLIANCE_REVIEWER})
_ANY_SIGNER = frozenset(set(Role) - {Role.AUDITOR})


def pending_revisions_of(
    user: AbstractBaseUser, models: Iterable[type[ChangeControlledRevision]]
) -> Iterator[WorkItem]:
    """Pending revisions someone else proposed, each linked to its approval page; one the away colleague the user
    stands in for could decide says on whose behalf."""
    delegations = None
    for model in models:
        pending = (
            model.objects.filter(state=RevisionState.PENDING)
            .exclude(proposed_by=user)
            .select_related("use_case")
            .order_by("proposed_at")
        )
        for revision in pending:
            delegations = current_delegations(user) if delegations is None else delegations
            delegation = revision_on_behalf_of(revision, user, delegations=delegations)
            behalf = f" on behalf of {printed_names([delegation.delegator])[0]}" if delegation else ""
            url = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_approve", args=[revision.pk])
            yield WorkItem(label=f"{revision}{behalf}", url=url, waiting_since=revision.proposed_at)


def _pending_revisions(user: AbstractBaseUser) -> Iterator[WorkItem]:
    return pending_revisions_of(user, (RaciMatrix, ThresholdPolicy))


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
        yield WorkItem(
            label=f"{cadence.use_case}: {cadence.due_reason}", url=url, waiting_since=cadence.due_since, risk_tier=""
        )


def _role_grants_to_decide(user: AbstractBaseUser) -> Iterator[WorkItem]:
    """Grants and removals of roles awaiting a second person: never the person's own, nor one they asked for."""
    waiting = (
        RoleGrant.objects.filter(state__in=[RoleGrantState.REQUESTED, RoleGrantState.REVOCATION_REQUESTED])
        .exclude(user=user)
        .select_related("user")
        .order_by("requested_at")
    )
    for grant in waiting:
        if grant.state == RoleGrantState.REQUESTED:
            if grant.requested_by_id == user.pk:
                continue
            label, route, since = f"Grant {grant.role} to {grant.user}", "approve", grant.requested_at
        else:
            if grant.revocation_requested_by_id == user.pk:
                continue
            label, route = f"Remove {grant.role} from {grant.user}", "revocation_approve"
            since = grant.revocation_requested_at
        yield WorkItem(
            label=label, url=reverse(f"admin:accounts_rolegrant_{route}", args=[grant.pk]), waiting_since=since
        )


def _access_reviews_to_attest(user: AbstractBaseUser) -> Iterator[WorkItem]:
    """Open reviews of the roles whose owner role the person holds (a Compliance reviewer attests the Risk Officers)."""
    from accounts.authz import roles_of

    held = roles_of(user)
    owned = [role for role, owner in ROLE_OWNERS.items() if owner.value in held and role.value not in held]
    for review in AccessReview.objects.filter(state=AccessReviewState.OPEN, role__in=owned).order_by("opened_at"):
        url = reverse("admin:accounts_accessreview_attest", args=[review.pk])
        yield WorkItem(label=str(review), url=url, waiting_since=review.opened_at)


def register() -> None:
    register_queue(
        WorkQueue(
            key="accounts.role_grants",
            title="Role grants and removals awaiting your decision",
            roles=_DECIDERS,
            items=_role_grants_to_decide,
        )
    )
    register_queue(
        WorkQueue(
            key="accounts.access_reviews",
            title="Access reviews of roles you own",
            roles=frozenset(ROLE_OWNERS.values()),
            items=_access_reviews_to_attest,
        )
    )
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
