"""The dataset approval workflow: Legal, then Security, then Compliance, each an electronic signature by the
reviewer assigned to that stage of that version. No training run may use a version this has not approved.

Assignment is an object permission (django-guardian, direct foreign-key table): a data steward assigns a
reviewer, or ``dataset_version_assign_next_reviewer`` picks one round-robin. Being in the stage's group is
necessary and not sufficient; being an administrator is neither. Whoever created or submitted a version cannot
review it, and nobody signs two stages of one version.
"""

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser, Permission
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Count, Q
from django.urls import reverse
from guardian.shortcuts import assign_perm, remove_perm

from accounts.authz import require, roles_of
from accounts.choices import NotificationKind
from accounts.notifications import notify
from accounts.services.delegations import active_delegates, standing_in_for
from accounts.services.signatures import signature_sign
from audit import ledger
from audit.audit_context import acting_as
from audit.choices import LedgerAction
from audit.ledger import ActionDenied, denials_recorded
from lineage.choices import STAGES, ReviewStage
from lineage.models import DatasetVersion
from lineage.selectors import assigned_reviewers, is_assigned, stage_of, stage_signers


def _why_not_eligible(user: AbstractBaseUser, version: DatasetVersion, stage: ReviewStage) -> str | None:
    if not user.is_active:
        return "The account is inactive."
    if stage.role.value not in roles_of(user):
        return f"Only a {stage.role.label} may review at the {version.get_state_display()} stage."
    if user.pk in (version.created_by_id, version.submitted_by_id):
        return "Whoever created or submitted a version cannot review it."
    signed = stage_signers(version).get(user.pk)
    if signed and signed != stage.meaning:
        return f"You already signed this version ({signed}); another person must review this stage."
    return None


def _assign(version: DatasetVersion, stage: ReviewStage, reviewer: AbstractBaseUser, actor_name: str = "") -> None:
    for previous in assigned_reviewers(version, stage):
        remove_perm(f"lineage.{stage.permission}", previous, version)
    assign_perm(f"lineage.{stage.permission}", reviewer, version)
    ledger.append(
        action=LedgerAction.UPDATE,
        obj=version,
        actor_name=actor_name,
        payload={"reviewer_assigned": {"stage": stage.state.value, "reviewer": reviewer.get_username()}},
    )
    notify(
        kind=NotificationKind.REVIEW_ASSIGNED,
        recipients=[reviewer, *active_delegates(reviewer, stage.role.value)],  # a delegate stands in while away
        key=f"dataset-version:{version.pk}:revision-{version.revision}:{stage.state.value}:{reviewer.pk}",
        subject=f"Review assigned to you: {version} ({stage.role.label})",
        body=f"{version} waits for your review as {stage.role.label} (revision {version.revision}).",
        path=reverse("admin:lineage_datasetversion_change", args=[version.pk]),
    )


def acting_for(reviewer: AbstractBaseUser, version: DatasetVersion, stage: ReviewStage) -> AbstractBaseUser | None:
    """The away reviewer assigned to this stage for whom ``reviewer`` stands in now (a delegation in the stage's
    role), if that person could sign it themselves: segregation of duties holds for the delegator too, so
    nobody signs a second stage of one version through their delegate."""
    delegation = standing_in_for(
        reviewer,
        [stage.role.value],
        lambda person, _role: is_assigned(person, version, stage) and _why_not_eligible(person, version, stage) is None,
    )
    return delegation.delegator if delegation else None


def dataset_version_assign_reviewer(
    *, version: DatasetVersion, reviewer: AbstractBaseUser, actor: AbstractBaseUser
) -> None:
    """A data steward assigns the reviewer of the version's current stage."""
    with denials_recorded(), transaction.atomic(), acting_as(actor):
        locked = DatasetVersion.objects.select_for_update().get(pk=version.pk)
        require(actor, "lineage.assign_reviewers_datasetversion", attempted="assign_reviewer", obj=locked)
        stage = stage_of(locked)
        if stage is None:
            raise ActionDenied(
                f"{locked} is {locked.get_state_display().lower()}, not awaiting review.",
                actor=actor,
                attempted="assign_reviewer",
                obj=locked,
            )
        problem = _why_not_eligible(reviewer, locked, stage)
        if problem:
            raise ValidationError({"reviewer": f"{reviewer.get_username()} cannot review {locked}: {problem}"})
        _assign(locked, stage, reviewer)


def dataset_version_assign_next_reviewer(version: DatasetVersion) -> AbstractBaseUser | None:
    """Round-robin: the eligible member of the stage's group with the fewest open assignments (then the
    longest-standing account). None if nobody is eligible: the data steward must assign someone."""
    stage = stage_of(version)
    if stage is None:
        return None
    permission = Permission.objects.get(codename=stage.permission, content_type__app_label="lineage")
    open_states = [s.state.value for s in STAGES]
    candidates = (
        get_user_model()
        .objects.filter(is_active=True, groups__name=stage.role.value)
        .annotate(
            open_reviews=Count(
                "datasetversionreviewer",
                filter=Q(
                    datasetversionreviewer__permission=permission,
                    datasetversionreviewer__content_object__state__in=open_states,
                ),
            )
        )
        .order_by("open_reviews", "date_joined", "pk")
    )
    for candidate in candidates:
        if _why_not_eligible(candidate, version, stage) is None:
            _assign(version, stage, candidate, actor_name="system:reviewer-rotation")
            return candidate
    return None


def dataset_version_approve_refusal(version: DatasetVersion, reviewer: AbstractBaseUser) -> str | None:
    """Why ``reviewer`` may not sign the version's current stage now (None: they may). The approval service
    refuses with it, and the signing page asks it before offering the form."""
    stage = stage_of(version)
    if stage is None:
        return f"{version} is {version.get_state_display().lower()}, not awaiting review."
    problem = _why_not_eligible(reviewer, version, stage)
    if problem is None and not is_assigned(reviewer, version, stage) and acting_for(reviewer, version, stage) is None:
        problem = f"You are not the assigned {stage.role.label} for {version}."
        if not assigned_reviewers(version, stage):
            problem += " Nobody is assigned yet: a data steward assigns the reviewer."
    return problem


def dataset_version_approvers(version: DatasetVersion) -> list[AbstractBaseUser]:
    """The people who may sign the version's current stage now: its assigned reviewer, if still eligible."""
    stage = stage_of(version)
    if stage is None:
        return []
    return [person for person in assigned_reviewers(version, stage) if not _why_not_eligible(person, version, stage)]


def dataset_version_review_approve(
    *, version: DatasetVersion, reviewer: AbstractBaseUser, password: str, username: str | None = None
) -> DatasetVersion:
    """The assigned reviewer signs the current stage; the version moves to the next stage (whose reviewer is
    assigned round-robin) or, after Compliance, is approved for training."""
    with denials_recorded(), transaction.atomic(), acting_as(reviewer):
        locked = DatasetVersion.objects.select_for_update().select_related("dataset").get(pk=version.pk)
        problem = dataset_version_approve_refusal(locked, reviewer)
        if problem:
            raise ActionDenied(problem, actor=reviewer, attempted="dataset_version_review_approve", obj=locked)
        stage = stage_of(locked)
        on_behalf_of = None if is_assigned(reviewer, locked, stage) else acting_for(reviewer, locked, stage)
        signature_sign(
            record=locked,
            signer=reviewer,
            password=password,
            username=username,
            meaning=stage.meaning,
            on_behalf_of=on_behalf_of,
        )
        getattr(locked, stage.approve)()
        locked.save()
        dataset_version_assign_next_reviewer(locked)
        return locked


def _decide_against(
    version: DatasetVersion, reviewer: AbstractBaseUser, reason: str, transition: str, attempted: str
) -> DatasetVersion:
    if not reason.strip():
        raise ValidationError({"reason": "Say why, so the authors know what to change."})
    with denials_recorded(), transaction.atomic(), acting_as(reviewer):
        locked = DatasetVersion.objects.select_for_update().get(pk=version.pk)
        stage = stage_of(locked)
        assigned = stage is not None and (is_assigned(reviewer, locked, stage) or acting_for(reviewer, locked, stage))
        if not assigned or _why_not_eligible(reviewer, locked, stage):
            raise ActionDenied(
                "Only the reviewer assigned to the version's current stage (or their delegate) can decide on it.",
                actor=reviewer,
                attempted=attempted,
                obj=locked,
            )
        getattr(locked, transition)()
        if transition == "request_changes":
            locked.revision += 1
            for every in STAGES:
                for assigned in assigned_reviewers(locked, every):
                    remove_perm(f"lineage.{every.permission}", assigned, locked)
        locked._change_reason = reason.strip()[:100]
        locked.save()
        return locked


def dataset_version_request_changes(
    *, version: DatasetVersion, reviewer: AbstractBaseUser, reason: str
) -> DatasetVersion:
    """Back to draft as a new revision; once resubmitted, review starts again at Legal."""
    return _decide_against(version, reviewer, reason, "request_changes", "dataset_version_request_changes")


def dataset_version_reject(*, version: DatasetVersion, reviewer: AbstractBaseUser, reason: str) -> DatasetVersion:
    return _decide_against(version, reviewer, reason, "reject", "dataset_version_reject")
