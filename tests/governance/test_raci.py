"""RACI per use case: proposed by a Risk Officer, approved with a signature by another person, and the only
source of "who is Accountable" for later approvals."""

import pytest
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from accounts.choices import Role
from audit.choices import LedgerAction
from audit.ledger import ActionDenied
from audit.models import LedgerEntry, Signature
from governance.choices import LifecycleStage, RaciLetter, RevisionState
from governance.models import RaciAssignment, RaciMatrix
from governance.services.raci import (
    accountable_role,
    effective_raci,
    raci_grid_errors,
    raci_revision_propose,
    raci_roles,
)
from governance.services.revisions import revision_approve, revision_reject
from tests.governance.conftest import PASSWORD
from tests.governance.test_usecases import ledger_of, make_use_case

pytestmark = pytest.mark.django_db

#: stage -> (Accountable, Responsible): one A and one R per stage.
STAGE_OWNERS = {
    LifecycleStage.REQUIREMENTS: (Role.PRODUCT_OWNER, Role.ML_ENGINEER),
    LifecycleStage.DATA: (Role.DATA_STEWARD, Role.ML_ENGINEER),
    LifecycleStage.TRAINING: (Role.PRODUCT_OWNER, Role.ML_ENGINEER),
    LifecycleStage.EVALUATION: (Role.RISK_OFFICER, Role.ML_ENGINEER),
    LifecycleStage.APPROVAL: (Role.RISK_OFFICER, Role.COMPLIANCE_REVIEWER),
    LifecycleStage.DEPLOYMENT: (Role.CHANGE_ADVISORY_BOARD, Role.ML_ENGINEER),
    LifecycleStage.MONITORING: (Role.RISK_OFFICER, Role.ML_ENGINEER),
}


def valid_grid(**accountable: Role) -> dict[tuple[str, str], str]:
    """A complete grid: per stage one A, one R, Compliance consulted, the Auditor informed.

    ``valid_grid(requirements=Role.COMPLIANCE_REVIEWER)`` makes another function Accountable for a stage.
    """
    grid = {}
    for stage, (default_accountable, responsible) in STAGE_OWNERS.items():
        grid[(stage.value, Role.AUDITOR.value)] = RaciLetter.INFORMED.value
        if Role.COMPLIANCE_REVIEWER not in (default_accountable, responsible):
            grid[(stage.value, Role.COMPLIANCE_REVIEWER.value)] = RaciLetter.CONSULTED.value
        grid[(stage.value, responsible.value)] = RaciLetter.RESPONSIBLE.value
        grid[(stage.value, accountable.get(stage.value, default_accountable).value)] = RaciLetter.ACCOUNTABLE.value
    return grid


def approved_raci(use_case, proposer, approver, **accountable: Role) -> RaciMatrix:
    matrix = raci_revision_propose(
        use_case=use_case, actor=proposer, grid=valid_grid(**accountable), rationale="Initial RACI."
    )
    return revision_approve(revision=matrix, approver=approver, password=PASSWORD)


def signatures_on(record) -> list[Signature]:
    content_type = ContentType.objects.get_for_model(record)
    return list(Signature.objects.filter(content_type=content_type, object_id=str(record.pk)))


@pytest.fixture
def ml_engineer(user_in_role):
    return user_in_role(Role.ML_ENGINEER, username="ml")


@pytest.fixture
def use_case(product_owner):
    return make_use_case(product_owner)


@pytest.fixture
def pending(use_case, risk) -> RaciMatrix:
    return raci_revision_propose(use_case=use_case, actor=risk, grid=valid_grid(), rationale="Initial RACI.")


def test_the_helper_grid_has_one_accountable_and_one_responsible_per_stage() -> None:
    grid = valid_grid()

    assert raci_grid_errors(grid) == {}
    for stage in LifecycleStage:
        letters = [letter for (row, _role), letter in grid.items() if row == stage.value]
        assert (letters.count("A"), letters.count("R")) == (1, 1)


def test_a_valid_grid_proposed_by_a_risk_officer_waits_for_approval(use_case, risk) -> None:
    matrix = raci_revision_propose(use_case=use_case, actor=risk, grid=valid_grid(), rationale="  Initial RACI. ")

    matrix.refresh_from_db()
    assert (matrix.state, matrix.revision, matrix.proposed_by) == (RevisionState.PENDING, 1, risk)
    assert matrix.rationale == "Initial RACI."
    assert matrix.grid() == valid_grid()
    assert effective_raci(use_case) is None
    content_entries = [e for e in ledger_of(matrix) if e.action == LedgerAction.CREATE and "content" in e.payload]
    assert len(content_entries) == 1
    content = content_entries[0].payload["content"]
    assert content_entries[0].actor == risk
    assert set(content) == set(LifecycleStage.values)
    assert content["requirements"] == {
        "Auditor": "I",
        "Compliance Reviewer": "C",
        "ML Engineer": "R",
        "Product Owner": "A",
    }


def test_empty_cells_are_not_stored(use_case, risk) -> None:
    grid = {**valid_grid(), ("data", Role.LEGAL_REVIEWER.value): ""}

    matrix = raci_revision_propose(use_case=use_case, actor=risk, grid=grid, rationale="Initial RACI.")

    assert not matrix.assignments.filter(role=Role.LEGAL_REVIEWER).exists()
    assert matrix.assignments.count() == len(valid_grid())


def with_cell(stage: LifecycleStage, role: Role, letter: str) -> dict:
    return {**valid_grid(), (stage.value, role.value): letter}


def without_letters(stage: LifecycleStage, *letters: str) -> dict:
    return {key: value for key, value in valid_grid().items() if not (key[0] == stage.value and value in letters)}


@pytest.mark.parametrize(
    ("grid", "stage", "message"),
    [
        (
            with_cell(LifecycleStage.EVALUATION, Role.PRODUCT_OWNER, "A"),
            LifecycleStage.EVALUATION,
            "Evaluation & validation needs exactly one Accountable (found 2: Risk Officer, Product Owner).",
        ),
        (
            without_letters(LifecycleStage.DATA, "A"),
            LifecycleStage.DATA,
            "Data sourcing & lineage needs exactly one Accountable (found none).",
        ),
        (
            without_letters(LifecycleStage.DEPLOYMENT, "R"),
            LifecycleStage.DEPLOYMENT,
            "Deployment needs at least one Responsible.",
        ),
        (
            without_letters(LifecycleStage.MONITORING, "A", "R"),
            LifecycleStage.MONITORING,
            "Monitoring & retraining needs exactly one Accountable (found none) and needs at least one Responsible.",
        ),
    ],
    ids=["two-accountable", "no-accountable", "no-responsible", "neither"],
)
def test_a_grid_breaking_an_invariant_is_refused_naming_the_stage_and_nothing_is_saved(
    use_case, risk, grid, stage, message
) -> None:
    with pytest.raises(ValidationError) as raised:
        raci_revision_propose(use_case=use_case, actor=risk, grid=grid, rationale="Broken grid.")

    errors = raised.value.message_dict
    assert set(errors) == {stage.value}
    assert errors[stage.value] == [message]
    assert not RaciMatrix.objects.exists()
    assert not RaciAssignment.objects.exists()
    assert not LedgerEntry.objects.filter(object_type="governance.racimatrix").exists()


def test_an_empty_grid_names_every_stage(use_case, risk) -> None:
    with pytest.raises(ValidationError) as raised:
        raci_revision_propose(use_case=use_case, actor=risk, grid={}, rationale="Nothing.")

    assert set(raised.value.message_dict) == set(LifecycleStage.values)


@pytest.mark.parametrize(
    "cell",
    [
        (("requirements", Role.AUDITOR.value), "X"),
        (("requirements", "Intern"), "C"),
        (("go-live", Role.AUDITOR.value), "I"),
    ],
    ids=["unknown-letter", "unknown-role", "unknown-stage"],
)
def test_an_unknown_letter_role_or_stage_is_refused(use_case, risk, cell) -> None:
    key, letter = cell
    grid = {**valid_grid(), key: letter}

    with pytest.raises(ValidationError, match="Unknown stage, function or letter"):
        raci_revision_propose(use_case=use_case, actor=risk, grid=grid, rationale="Typo.")

    assert not RaciMatrix.objects.exists()


def test_a_proposal_needs_a_rationale(use_case, risk) -> None:
    with pytest.raises(ValidationError) as raised:
        raci_revision_propose(use_case=use_case, actor=risk, grid=valid_grid(), rationale="   ")

    assert "rationale" in raised.value.message_dict
    assert not RaciMatrix.objects.exists()


@pytest.mark.parametrize("role", [Role.PRODUCT_OWNER, Role.COMPLIANCE_REVIEWER, Role.ML_ENGINEER, Role.AUDITOR])
def test_only_a_risk_officer_proposes_a_raci(user_in_role, use_case, role: Role) -> None:
    someone = user_in_role(role, username="someone")

    with pytest.raises(ActionDenied):
        raci_revision_propose(use_case=use_case, actor=someone, grid=valid_grid(), rationale="Not mine to set.")

    assert not RaciMatrix.objects.exists()
    denial = ledger_of(use_case)[-1]
    assert (denial.action, denial.actor) == (LedgerAction.DENIED, someone)
    assert denial.payload["attempted"] == "raci_revision_propose"


def test_a_second_proposal_while_one_is_pending_is_refused(use_case, second_risk, pending) -> None:
    with pytest.raises(ActionDenied, match="Revision 1 is already pending approval"):
        raci_revision_propose(use_case=use_case, actor=second_risk, grid=valid_grid(), rationale="Another.")

    assert list(RaciMatrix.objects.all()) == [pending]
    denial = ledger_of(use_case)[-1]
    assert (denial.action, denial.actor) == (LedgerAction.DENIED, second_risk)
    assert denial.payload["attempted"] == "raci_revision_propose"


def test_the_proposer_cannot_approve_their_own_raci_revision(risk, pending) -> None:
    with pytest.raises(ActionDenied, match="You proposed this revision"):
        revision_approve(revision=pending, approver=risk, password=PASSWORD)

    pending.refresh_from_db()
    assert pending.state == RevisionState.PENDING
    assert signatures_on(pending) == []
    denial = ledger_of(pending)[-1]
    assert (denial.action, denial.actor) == (LedgerAction.DENIED, risk)
    assert denial.payload["attempted"] == "approve RACI matrix"


def test_an_ml_engineer_cannot_approve_a_raci_revision(ml_engineer, pending) -> None:
    with pytest.raises(ActionDenied, match="Only a Risk Officer or a Compliance reviewer"):
        revision_approve(revision=pending, approver=ml_engineer, password=PASSWORD)

    pending.refresh_from_db()
    assert pending.state == RevisionState.PENDING
    assert ledger_of(pending)[-1].action == LedgerAction.DENIED


def test_an_administrator_without_a_role_cannot_approve_a_raci_revision(admin_user, pending) -> None:
    admin_user.set_password(PASSWORD)
    admin_user.save()

    with pytest.raises(ActionDenied, match="Only a Risk Officer or a Compliance reviewer"):
        revision_approve(revision=pending, approver=admin_user, password=PASSWORD)

    pending.refresh_from_db()
    assert pending.state == RevisionState.PENDING
    denial = ledger_of(pending)[-1]
    assert (denial.action, denial.actor) == (LedgerAction.DENIED, admin_user)


@pytest.mark.parametrize(
    ("approver_role", "capacity"),
    [(Role.RISK_OFFICER, "Risk Officer"), (Role.COMPLIANCE_REVIEWER, "Compliance Reviewer")],
)
def test_another_approver_signs_and_the_revision_takes_effect(
    user_in_role, use_case, pending, approver_role, capacity
) -> None:
    approver = user_in_role(approver_role, username="approver")

    approved = revision_approve(revision=pending, approver=approver, password=PASSWORD, note=" Looks right. ")

    approved.refresh_from_db()
    assert (approved.state, approved.decided_by, approved.decision_note) == (
        RevisionState.EFFECTIVE,
        approver,
        "Looks right.",
    )
    assert approved.decided_at is not None
    assert effective_raci(use_case) == approved
    [signature] = signatures_on(approved)
    assert signature.signer == approver
    assert signature.meaning.startswith("Approved RACI matrix revision")
    assert signature.meaning == f"Approved RACI matrix revision 1 as {capacity}"
    entries = ledger_of(approved)
    sign = next(e for e in entries if e.action == LedgerAction.SIGN)
    assert (sign.actor, sign.payload["meaning"]) == (approver, signature.meaning)
    transition = next(e for e in entries if e.action == LedgerAction.TRANSITION)
    assert (transition.payload["source"], transition.payload["target"]) == ("pending", "effective")
    assert transition.actor == approver


def test_approving_a_new_revision_supersedes_the_effective_one(use_case, risk, second_risk, compliance) -> None:
    first = approved_raci(use_case, risk, second_risk)
    proposal = raci_revision_propose(
        use_case=use_case,
        actor=second_risk,
        grid=valid_grid(requirements=Role.COMPLIANCE_REVIEWER),
        rationale="Compliance owns requirements now.",
    )

    second = revision_approve(revision=proposal, approver=compliance, password=PASSWORD)

    first.refresh_from_db()
    assert (first.state, second.state, second.revision) == (RevisionState.SUPERSEDED, RevisionState.EFFECTIVE, 2)
    assert effective_raci(use_case) == second
    superseded = [e for e in ledger_of(first) if e.action == LedgerAction.TRANSITION][-1]
    assert (superseded.payload["source"], superseded.payload["target"]) == ("effective", "superseded")
    assert superseded.actor == compliance


def test_a_wrong_password_is_refused_and_nothing_changes(use_case, second_risk, pending) -> None:
    with pytest.raises(ActionDenied, match="Re-authentication failed"):
        revision_approve(revision=pending, approver=second_risk, password="not-my-password")

    pending.refresh_from_db()
    assert (pending.state, pending.decided_by) == (RevisionState.PENDING, None)
    assert signatures_on(pending) == []
    assert effective_raci(use_case) is None
    denial = ledger_of(pending)[-1]
    assert (denial.action, denial.actor) == (LedgerAction.DENIED, second_risk)
    assert not any(e.action == LedgerAction.TRANSITION for e in ledger_of(pending))


def test_someone_elses_username_does_not_sign(user_in_role, second_risk, pending) -> None:
    user_in_role(Role.RISK_OFFICER, username="risk-3")

    with pytest.raises(ActionDenied, match="Re-authentication failed"):
        revision_approve(revision=pending, approver=second_risk, password=PASSWORD, username="risk-3")

    pending.refresh_from_db()
    assert pending.state == RevisionState.PENDING


def test_an_effective_revision_cannot_be_approved_again(use_case, risk, second_risk, compliance) -> None:
    matrix = approved_raci(use_case, risk, second_risk)

    with pytest.raises(ActionDenied, match="is effective, not pending approval"):
        revision_approve(revision=matrix, approver=compliance, password=PASSWORD)

    assert len(signatures_on(matrix)) == 1


def test_rejection_needs_a_note(second_risk, pending) -> None:
    with pytest.raises(ValidationError) as raised:
        revision_reject(revision=pending, approver=second_risk, note="  ")

    assert "note" in raised.value.message_dict
    pending.refresh_from_db()
    assert pending.state == RevisionState.PENDING


def test_a_rejected_revision_never_takes_effect_and_a_new_one_may_be_proposed(
    use_case, risk, second_risk, pending
) -> None:
    rejected = revision_reject(revision=pending, approver=second_risk, note=" Deployment needs the CAB as R. ")

    rejected.refresh_from_db()
    assert (rejected.state, rejected.decided_by, rejected.decision_note) == (
        RevisionState.REJECTED,
        second_risk,
        "Deployment needs the CAB as R.",
    )
    assert effective_raci(use_case) is None
    transition = [e for e in ledger_of(rejected) if e.action == LedgerAction.TRANSITION][-1]
    assert (transition.payload["target"], transition.actor) == ("rejected", second_risk)
    again = raci_revision_propose(use_case=use_case, actor=risk, grid=valid_grid(), rationale="Second try.")
    assert (again.revision, again.state) == (2, RevisionState.PENDING)


def test_the_proposer_cannot_reject_their_own_revision(risk, pending) -> None:
    with pytest.raises(ActionDenied, match="You proposed this revision"):
        revision_reject(revision=pending, approver=risk, note="Changed my mind.")

    pending.refresh_from_db()
    assert pending.state == RevisionState.PENDING
    assert ledger_of(pending)[-1].payload["attempted"] == "reject RACI matrix"


def test_the_accountable_role_comes_from_the_effective_revision_only(use_case, risk, second_risk) -> None:
    assert accountable_role(use_case, LifecycleStage.REQUIREMENTS) is None
    pending_first = raci_revision_propose(use_case=use_case, actor=risk, grid=valid_grid(), rationale="Initial.")
    assert accountable_role(use_case, LifecycleStage.REQUIREMENTS) is None

    revision_approve(revision=pending_first, approver=second_risk, password=PASSWORD)
    assert accountable_role(use_case, LifecycleStage.REQUIREMENTS) == Role.PRODUCT_OWNER

    proposal = raci_revision_propose(
        use_case=use_case,
        actor=risk,
        grid=valid_grid(requirements=Role.COMPLIANCE_REVIEWER),
        rationale="Compliance owns requirements.",
    )
    assert accountable_role(use_case, LifecycleStage.REQUIREMENTS) == Role.PRODUCT_OWNER

    revision_approve(revision=proposal, approver=second_risk, password=PASSWORD)
    assert accountable_role(use_case, LifecycleStage.REQUIREMENTS) == Role.COMPLIANCE_REVIEWER
    assert raci_roles(use_case, LifecycleStage.REQUIREMENTS, RaciLetter.RESPONSIBLE) == [Role.ML_ENGINEER]


def test_the_raci_of_one_use_case_says_nothing_about_another(product_owner, use_case, risk, second_risk) -> None:
    approved_raci(use_case, risk, second_risk)
    other = make_use_case(product_owner, slug="collections-assistant", name="Collections assistant")

    assert accountable_role(other, LifecycleStage.REQUIREMENTS) is None
    assert effective_raci(other) is None


def test_the_database_refuses_a_second_accountable_in_a_stage_even_without_the_service(pending) -> None:
    stage = LifecycleStage.REQUIREMENTS.value

    with pytest.raises(IntegrityError), transaction.atomic():
        RaciAssignment.objects.create(
            matrix=pending, stage=stage, role=Role.DATA_STEWARD, letter=RaciLetter.ACCOUNTABLE
        )

    assert pending.assignments.filter(stage=stage, letter=RaciLetter.ACCOUNTABLE).count() == 1


def test_the_database_refuses_an_unknown_letter_even_without_the_service(pending) -> None:
    with pytest.raises(IntegrityError), transaction.atomic():
        RaciAssignment.objects.create(matrix=pending, stage="data", role=Role.LEGAL_REVIEWER, letter="X")
