"""Approving and rejecting change-controlled revisions (RACI matrices, thresholds, required provenance facts): maker
is never checker, not even through a delegate."""

from collections.abc import Sequence

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from accounts.authz import approval_permission_holders, holds_approval_permission, roles_of
from accounts.choices import NotificationKind, Role
from accounts.models import Delegation
from accounts.notifications import notify
from accounts.roles import roles_granting
from accounts.services.delegations import standing_in_for
from accounts.services.signatures import signature_sign
from audit import ledger
from audit.audit_context import acting_as
from audit.choices import LedgerAction
from audit.ledger import ActionDenied, denials_recorded
from governance.choices import RevisionState
from governance.models.revisions import ChangeControlledRevision

#: The roles whose approval counts, in the order their name is used in the signature's meaning.
APPROVER_ROLES = (Role.RISK_OFFICER, Role.COMPLIANCE_REVIEWER)


def _approve_permission(revision: ChangeControlledRevision) -> str:
    return f"{revision._meta.app_label}.approve_{revision._meta.model_name}"


def revision_decide_refusal(revision: ChangeControlledRevision, decider: AbstractBaseUser) -> str | None:
    """Why ``decider`` may not approve or reject the revision now (None: they may). The services refuse with it,
    and the signing page asks it before offering the form."""
    if revision.state != RevisionState.PENDING:
        return f"Revision {revision.revision} is {revision.get_state_display().lower()}, not pending approval."
    if revision.proposed_by_id == decider.pk:
        return "You proposed this revision; another person must decide on it."
    if not holds_approval_permission(decider, _approve_permission(revision)):
        return "Only a Risk Officer or a Compliance reviewer may decide on this revision."
    return None


def revision_on_behalf_of(
    revision: ChangeControlledRevision, decider: AbstractBaseUser, *, delegations: Sequence[Delegation] | None = None
) -> Delegation | None:
    """The delegation under which ``decider`` approves the revision on an away colleague's behalf: one in a role
    that decides revisions of this kind, whose delegator could decide it themselves (never the revision's
    proposer: nobody approves their own proposal through a delegate). None: ``decider`` decides in their own
    right."""
    return standing_in_for(
        decider,
        roles_granting(_approve_permission(revision)),
        lambda person, _role: revision_decide_refusal(revision, person) is None,
        delegations=delegations,
    )


def revision_deciders(revision: ChangeControlledRevision) -> list[AbstractBaseUser]:
    """The people who may decide on the revision now, in one query."""
    if revision.state != RevisionState.PENDING:
        return []
    return list(approval_permission_holders(_approve_permission(revision)).exclude(pk=revision.proposed_by_id))


def _check_decider(revision: ChangeControlledRevision, decider: AbstractBaseUser, attempted: str) -> None:
    problem = revision_decide_refusal(revision, decider)
    if problem:
        raise ActionDenied(problem, actor=decider, attempted=attempted, obj=revision)


def _capacity(user: AbstractBaseUser, delegation: Delegation | None) -> str:
    if delegation is not None:
        return str(Role(delegation.role).label)
    held = roles_of(user)
    return next((role.label for role in APPROVER_ROLES if role.value in held), "approver")


def revision_approve(
    *,
    revision: ChangeControlledRevision,
    approver: AbstractBaseUser,
    password: str,
    username: str | None = None,
    note: str = "",
) -> ChangeControlledRevision:
    """Make a pending revision effective, superseding the effective one, with the approver's signature (on behalf
    of the away colleague they stand in for, when that colleague could approve it)."""
    model = type(revision)
    kind = model._meta.verbose_name
    with denials_recorded(), transaction.atomic(), acting_as(approver):
        locked = model.objects.select_for_update().get(pk=revision.pk)
        _check_decider(locked, approver, f"approve {kind}")
        delegation = revision_on_behalf_of(locked, approver)
        signature_sign(
            record=locked,
            signer=approver,
            password=password,
            username=username,
            meaning=f"Approved {kind} revision {locked.revision} as {_capacity(approver, delegation)}",
            on_behalf_of=delegation.delegator if delegation else None,
        )
        scope = {"use_case": locked.use_case_id}
        for current in model.objects.select_for_update().filter(state=RevisionState.EFFECTIVE, **scope):
            current.supersede()
            current.save()
        locked.approve()
        locked.decided_by = approver
        locked.decided_at = timezone.now()
        locked.decision_note = note.strip()
        locked.save()
        return locked


def revision_reject(
    *, revision: ChangeControlledRevision, approver: AbstractBaseUser, note: str
) -> ChangeControlledRevision:
    """Refuse a pending revision; the reason is required and kept."""
    if not note.strip():
        raise ValidationError({"note": "Say why the revision is rejected."})
    model = type(revision)
    with denials_recorded(), transaction.atomic(), acting_as(approver):
        locked = model.objects.select_for_update().get(pk=revision.pk)
        _check_decider(locked, approver, f"reject {model._meta.verbose_name}")
        locked.reject()
        locked.decided_by = approver
        locked.decided_at = timezone.now()
        locked.decision_note = note.strip()
        locked.save()
        return locked


def record_revision_content(revision: ChangeControlledRevision) -> None:
    """The revision's rows are written after its own row, so its create entry cannot hold them: one more
    entry does, in the same transaction."""
    ledger.append(action=LedgerAction.CREATE, obj=revision, payload={"content": revision.content()})


def notify_revision_awaits_approval(revision: ChangeControlledRevision) -> None:
    """E-mail the people who may decide on a newly proposed revision (sent once the proposal commits)."""
    opts = revision._meta
    notify(
        kind=NotificationKind.APPROVAL_AWAITED,
        recipients=revision_deciders(revision),
        key=f"{opts.label_lower}:{revision.pk}:pending",
        subject=f"Awaiting your approval: {opts.verbose_name} revision {revision.revision}",
        body=f"{revision} was proposed and waits for the approval of a Risk Officer or a Compliance reviewer.",
        path=reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[revision.pk]),
    )


def next_revision_number(model: type[ChangeControlledRevision], **scope: object) -> int:
    latest = model.objects.filter(**scope).order_by("-revision").values_list("revision", flat=True).first()
    return (latest or 0) + 1
