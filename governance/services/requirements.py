"""Requirements documents and their behaviour constraints: drafted, frozen for review, signed by the
function Accountable for the Requirements stage and by Compliance."""

from collections.abc import Iterable

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction

from accounts.authz import require, role_holders, roles_of
from accounts.choices import Role
from accounts.services.signatures import signature_sign
from audit.audit_context import acting_as
from audit.ledger import ActionDenied, denials_recorded
from audit.models import Signature
from audit.signatures import signatures_for
from governance.choices import LifecycleStage, RequirementsState
from governance.models import BehaviorConstraint, Policy, RequirementsDocument, UseCase
from governance.services.raci import accountable_role

COMPLIANCE_MEANING = "Approved as Compliance reviewer"


def accountable_meaning(role: Role) -> str:
    return f"Approved as Accountable for Requirements ({role.label})"


def requirements_create(
    *, use_case: UseCase, actor: AbstractBaseUser, title: str, business_goals: str
) -> RequirementsDocument:
    """A new draft version of the use case's requirements."""
    with denials_recorded(), transaction.atomic(), acting_as(actor):
        locked = UseCase.objects.select_for_update().get(pk=use_case.pk)
        require(actor, "governance.add_requirementsdocument", attempted="requirements_create", obj=locked)
        latest = locked.requirements.order_by("-version").values_list("version", flat=True).first() or 0
        document = RequirementsDocument(
            use_case=locked, version=latest + 1, title=title, business_goals=business_goals, created_by=actor
        )
        document.full_clean()
        document.save()
        return document


def _locked_draft(document: RequirementsDocument, actor: AbstractBaseUser, attempted: str) -> RequirementsDocument:
    locked = RequirementsDocument.objects.select_for_update().get(pk=document.pk)
    require(actor, "governance.change_requirementsdocument", attempted=attempted, obj=locked)
    if locked.state != RequirementsState.DRAFT:
        raise ActionDenied(
            f"Version {locked.version} is {locked.get_state_display().lower()}; only a draft can be edited.",
            actor=actor,
            attempted=attempted,
            obj=locked,
        )
    return locked


def requirements_update(
    *, document: RequirementsDocument, actor: AbstractBaseUser, title: str, business_goals: str
) -> RequirementsDocument:
    with denials_recorded(), transaction.atomic(), acting_as(actor):
        locked = _locked_draft(document, actor, "requirements_update")
        locked.title, locked.business_goals = title, business_goals
        locked.full_clean()
        locked.save()
        return locked


def constraint_save(
    *,
    document: RequirementsDocument,
    actor: AbstractBaseUser,
    statement: str,
    kind: str,
    severity: str,
    applies_when: str = "",
    policies: Iterable[Policy] = (),
    position: int | None = None,
    constraint: BehaviorConstraint | None = None,
) -> BehaviorConstraint:
    """Add a constraint to a draft, or change one of its constraints."""
    with denials_recorded(), transaction.atomic(), acting_as(actor):
        locked = _locked_draft(document, actor, "constraint_save")
        if constraint is None:
            constraint = BehaviorConstraint(document=locked)
            if position is None:
                position = locked.constraints.count() + 1
        elif constraint.document_id != locked.pk:
            raise ValidationError("That constraint belongs to another document.")
        constraint.statement, constraint.kind, constraint.severity = statement, kind, severity
        constraint.applies_when = applies_when
        if position is not None:
            constraint.position = position
        constraint.full_clean(exclude=["document"])
        constraint.save()
        constraint.policies.set(list(policies))
        return constraint


def constraint_remove(*, constraint: BehaviorConstraint, actor: AbstractBaseUser) -> None:
    with denials_recorded(), transaction.atomic(), acting_as(actor):
        _locked_draft(constraint.document, actor, "constraint_remove")
        constraint.delete()


def requirements_submit(*, document: RequirementsDocument, actor: AbstractBaseUser) -> RequirementsDocument:
    """Freeze the draft for review and signing."""
    with denials_recorded(), transaction.atomic(), acting_as(actor):
        locked = _locked_draft(document, actor, "requirements_submit")
        if not locked.constraints.exists():
            raise ValidationError("Add at least one behaviour constraint before submitting.")
        locked.submit()
        locked.submitted_by = actor
        locked.save()
        return locked


def requirements_return_to_draft(
    *, document: RequirementsDocument, actor: AbstractBaseUser, reason: str
) -> RequirementsDocument:
    """A signer asks for changes. Signatures already given no longer count once the draft changes."""
    if not reason.strip():
        raise ValidationError({"reason": "Say what must change."})
    with denials_recorded(), transaction.atomic(), acting_as(actor):
        locked = RequirementsDocument.objects.select_for_update().get(pk=document.pk)
        if not required_capacities(locked, actor):
            raise ActionDenied(
                "Only a required signer can return this document.",
                actor=actor,
                attempted="requirements_return",
                obj=locked,
            )
        if locked.state != RequirementsState.IN_REVIEW:
            raise ActionDenied(
                "Only a document in review can be returned.",
                actor=actor,
                attempted="requirements_return",
                obj=locked,
            )
        locked.return_to_draft()
        locked._change_reason = reason.strip()[:100]
        locked.save()
        return locked


def required_capacities(document: RequirementsDocument, user: AbstractBaseUser) -> list[str]:
    """The signature meanings this user may give on this document, given the use case's RACI."""
    held = roles_of(user)
    capacities = []
    accountable = accountable_role(document.use_case, LifecycleStage.REQUIREMENTS)
    if accountable is not None and accountable.value in held:
        capacities.append(accountable_meaning(accountable))
    if Role.COMPLIANCE_REVIEWER.value in held:
        capacities.append(COMPLIANCE_MEANING)
    return capacities


def valid_signatures(document: RequirementsDocument) -> list[Signature]:
    return [signature for signature, holds in signatures_for(document) if holds]


def open_capacities(
    document: RequirementsDocument, user: AbstractBaseUser, valid: list[Signature] | None = None
) -> list[str]:
    """The capacities this user may still sign in: theirs, less those already covered by a valid signature.
    The first is what the signing page shows and what ``requirements_sign`` records. Callers that have read
    the document's valid signatures already pass them as ``valid``."""
    given = {signature.meaning for signature in (valid_signatures(document) if valid is None else valid)}
    return [meaning for meaning in required_capacities(document, user) if meaning not in given]


def requirements_sign_refusal(
    document: RequirementsDocument, actor: AbstractBaseUser, valid: list[Signature] | None = None
) -> str | None:
    """Why ``actor`` may not sign the document now (None: they may). ``requirements_sign`` refuses with it, and
    the signing page asks it before offering the form. ``valid``: the document's valid signatures, if read."""
    if document.state != RequirementsState.IN_REVIEW:
        return f"Version {document.version} is {document.get_state_display().lower()}, not in review."
    accountable = accountable_role(document.use_case, LifecycleStage.REQUIREMENTS)
    if accountable is None:
        return "This use case has no approved RACI, so nobody is Accountable for its requirements yet."
    if actor.pk in (document.submitted_by_id, document.created_by_id):
        return "You drafted or submitted this document; others must sign it."
    valid = valid_signatures(document) if valid is None else valid
    if any(signature.signer_id == actor.pk for signature in valid):
        return "You have already signed this document; the other signature must come from someone else."
    if not open_capacities(document, actor, valid):
        return (
            f"This document needs the signatures of the {accountable.label} (Accountable for Requirements) "
            "and of Compliance; you cannot give a signature it still needs."
        )
    return None


def requirements_signers(document: RequirementsDocument) -> list[AbstractBaseUser]:
    """The people who may sign the document now: holders of a role whose signature it still needs, other than
    its authors and those who signed it already."""
    if document.state != RequirementsState.IN_REVIEW:
        return []
    accountable = accountable_role(document.use_case, LifecycleStage.REQUIREMENTS)
    if accountable is None:
        return []
    valid = valid_signatures(document)
    given = {signature.meaning for signature in valid}
    needed = {accountable_meaning(accountable): accountable, COMPLIANCE_MEANING: Role.COMPLIANCE_REVIEWER}
    roles = [role.value for meaning, role in needed.items() if meaning not in given]
    excluded = {document.created_by_id, document.submitted_by_id} | {signature.signer_id for signature in valid}
    return list(role_holders(roles).exclude(pk__in=[pk for pk in excluded if pk is not None]))


def requirements_sign(
    *, document: RequirementsDocument, actor: AbstractBaseUser, password: str, username: str | None = None
) -> RequirementsDocument:
    """Sign in one capacity; the second of the two required signatures approves the document."""
    with denials_recorded(), transaction.atomic(), acting_as(actor):
        locked = RequirementsDocument.objects.select_for_update().get(pk=document.pk)
        valid = valid_signatures(locked)
        problem = requirements_sign_refusal(locked, actor, valid)
        if problem:
            raise ActionDenied(problem, actor=actor, attempted="requirements_sign", obj=locked)
        accountable = accountable_role(locked.use_case, LifecycleStage.REQUIREMENTS)
        given = {signature.meaning for signature in valid}
        needed = [accountable_meaning(accountable), COMPLIANCE_MEANING]
        capacities = open_capacities(locked, actor, valid)
        signature_sign(record=locked, signer=actor, password=password, username=username, meaning=capacities[0])
        if set(needed) <= given | {capacities[0]}:
            for previous in RequirementsDocument.objects.select_for_update().filter(
                use_case=locked.use_case, state=RequirementsState.APPROVED
            ):
                previous.supersede()
                previous.save()
            locked.approve()
            locked.save()
        return locked
