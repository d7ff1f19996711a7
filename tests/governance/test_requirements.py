"""Requirements documents: drafted with behaviour constraints, frozen for review, and approved by two signatures,
the function Accountable for Requirements in the effective RACI and Compliance."""

import datetime

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from accounts.choices import Role
from audit.choices import LedgerAction
from audit.ledger import ActionDenied
from audit.signatures import signatures_for
from governance.catalogue import load_controls
from governance.choices import ConstraintKind, RequirementsState, Severity
from governance.models import BehaviorConstraint, Control, RequirementsDocument
from governance.services.policies import policy_save
from governance.services.raci import raci_revision_propose
from governance.services.requirements import (
    COMPLIANCE_MEANING,
    constraint_remove,
    constraint_save,
    required_capacities,
    requirements_create,
    requirements_return_to_draft,
    requirements_sign,
    requirements_signers,
    requirements_submit,
    requirements_update,
)
from governance.services.revisions import revision_approve
from tests.conftest import give_role
from tests.governance.conftest import PASSWORD
from tests.governance.test_raci import approved_raci, signatures_on, valid_grid
from tests.governance.test_usecases import ledger_of, make_use_case
from tests.signing_in import login_verified

pytestmark = pytest.mark.django_db

ACCOUNTABLE_MEANING = "Approved as Accountable for Requirements (Product Owner)"
BALANCES = "the response contains account balances or payment schedules"

#: The playbook's example: (applies when, kind, statement).
PLAYBOOK_CONSTRAINTS = [
    (BALANCES, ConstraintKind.REDACT, "Redact full card numbers"),
    (BALANCES, ConstraintKind.MUST_NOT, "Do not predict missing PII"),
    (BALANCES, ConstraintKind.DISCLAIMER, "Append the standard billing disclaimer"),
]


@pytest.fixture
def drafter(user_in_role):
    return user_in_role(Role.ML_ENGINEER, username="ml")


@pytest.fixture
def use_case(product_owner):
    return make_use_case(product_owner)


@pytest.fixture
def raci(use_case, risk, second_risk):
    return approved_raci(use_case, risk, second_risk)


@pytest.fixture
def cc17(db: None, user_in_role):
    load_controls()
    owner = user_in_role(Role.COMPLIANCE_REVIEWER, username="policy-owner")
    gdpr = Control.objects.filter(framework__code="gdpr", identifier__in=["Art. 5", "Art. 6"])
    return policy_save(
        actor=owner,
        controls=gdpr,
        code="CC-17",
        title="Customer communications",
        text="Billing answers never expose card data and carry the standard disclaimer.",
        owner=owner,
        effective_date=datetime.date(2025, 1, 1),
    )


def draft(use_case, actor, cc17, title: str = "Billing assistant requirements") -> RequirementsDocument:
    document = requirements_create(
        use_case=use_case, actor=actor, title=title, business_goals="Resolve billing questions at first contact."
    )
    for applies_when, kind, statement in PLAYBOOK_CONSTRAINTS:
        constraint_save(
            document=document,
            actor=actor,
            applies_when=applies_when,
            kind=kind,
            statement=statement,
            severity=Severity.CRITICAL,
            policies=[cc17],
        )
    return document


@pytest.fixture
def in_review(raci, use_case, drafter, cc17) -> RequirementsDocument:
    return requirements_submit(document=draft(use_case, drafter, cc17), actor=drafter)


def approve(document, accountable, compliance) -> RequirementsDocument:
    requirements_sign(document=document, actor=accountable, password=PASSWORD)
    return requirements_sign(document=document, actor=compliance, password=PASSWORD)


def test_the_playbooks_billing_constraints_can_be_drafted_and_mapped_to_cc17(use_case, drafter, cc17) -> None:
    document = draft(use_case, drafter, cc17)

    document.refresh_from_db()
    assert (document.version, document.state, document.created_by) == (1, RequirementsState.DRAFT, drafter)
    constraints = list(document.constraints.all())
    assert [(c.position, c.applies_when, c.kind, c.statement) for c in constraints] == [
        (1, BALANCES, "redact", "Redact full card numbers"),
        (2, BALANCES, "must_not", "Do not predict missing PII"),
        (3, BALANCES, "disclaimer", "Append the standard billing disclaimer"),
    ]
    assert all(list(c.policies.all()) == [cc17] for c in constraints)
    assert sorted(cc17.controls.values_list("identifier", flat=True)) == ["Art. 5", "Art. 6"]
    created = ledger_of(document)[0]
    assert (created.action, created.actor) == (LedgerAction.CREATE, drafter)
    assert created.payload["after"]["title"] == "Billing assistant requirements"
    for constraint in constraints:
        entries = ledger_of(constraint)
        assert (entries[0].action, entries[0].actor) == (LedgerAction.CREATE, drafter)
        assert entries[0].payload["after"]["statement"] == constraint.statement
        mapping = [e for e in entries if "policies" in e.payload.get("changes", {})]
        assert [row["policy"] for row in mapping[-1].payload["changes"]["policies"]["after"]] == [cc17.pk]


def test_a_new_draft_takes_the_next_version_number(use_case, drafter, cc17) -> None:
    first = draft(use_case, drafter, cc17)
    second = requirements_create(use_case=use_case, actor=drafter, title="v2", business_goals="More.")

    assert (first.version, second.version) == (1, 2)


@pytest.mark.parametrize("role", [Role.RISK_OFFICER, Role.COMPLIANCE_REVIEWER, Role.AUDITOR])
def test_roles_that_do_not_draft_cannot_create_requirements(user_in_role, use_case, role: Role) -> None:
    someone = user_in_role(role, username="someone")

    with pytest.raises(ActionDenied):
        requirements_create(use_case=use_case, actor=someone, title="Mine", business_goals="Goals.")

    assert not RequirementsDocument.objects.exists()
    denial = ledger_of(use_case)[-1]
    assert (denial.action, denial.payload["attempted"]) == (LedgerAction.DENIED, "requirements_create")


def test_a_malformed_constraint_is_refused_and_nothing_is_saved(use_case, drafter) -> None:
    document = requirements_create(use_case=use_case, actor=drafter, title="Draft", business_goals="Goals.")

    with pytest.raises(ValidationError) as raised:
        constraint_save(document=document, actor=drafter, statement="Be nice", kind="vibes", severity=Severity.LOW)

    assert "kind" in raised.value.message_dict
    assert not BehaviorConstraint.objects.exists()


def test_an_oversized_title_is_refused(use_case, drafter) -> None:
    with pytest.raises(ValidationError) as raised:
        requirements_create(use_case=use_case, actor=drafter, title="T" * 201, business_goals="Goals.")

    assert "title" in raised.value.message_dict
    assert not RequirementsDocument.objects.exists()


def test_submitting_needs_at_least_one_constraint(raci, use_case, drafter) -> None:
    document = requirements_create(use_case=use_case, actor=drafter, title="Empty", business_goals="Goals.")

    with pytest.raises(ValidationError, match="at least one behaviour constraint"):
        requirements_submit(document=document, actor=drafter)

    document.refresh_from_db()
    assert document.state == RequirementsState.DRAFT
    assert not any(e.action == LedgerAction.TRANSITION for e in ledger_of(document))


def test_submitting_freezes_the_draft_for_review(raci, use_case, drafter, cc17) -> None:
    document = draft(use_case, drafter, cc17)

    submitted = requirements_submit(document=document, actor=drafter)

    submitted.refresh_from_db()
    assert (submitted.state, submitted.submitted_by) == (RequirementsState.IN_REVIEW, drafter)
    transition = [e for e in ledger_of(document) if e.action == LedgerAction.TRANSITION][-1]
    assert (transition.payload["source"], transition.payload["target"], transition.actor) == (
        "draft",
        "in_review",
        drafter,
    )


def test_editing_after_submission_is_refused(drafter, in_review) -> None:
    constraint = in_review.constraints.first()

    with pytest.raises(ActionDenied, match="only a draft can be edited"):
        constraint_save(
            document=in_review, actor=drafter, statement="Add a new rule", kind=ConstraintKind.MUST, severity="low"
        )
    with pytest.raises(ActionDenied, match="only a draft can be edited"):
        constraint_save(
            document=in_review,
            actor=drafter,
            constraint=constraint,
            statement="Redact the last four digits too",
            kind=ConstraintKind.REDACT,
            severity=Severity.CRITICAL,
        )
    with pytest.raises(ActionDenied):
        constraint_remove(constraint=constraint, actor=drafter)
    with pytest.raises(ActionDenied):
        requirements_update(document=in_review, actor=drafter, title="Changed", business_goals="Changed.")

    in_review.refresh_from_db()
    assert in_review.title == "Billing assistant requirements"
    assert in_review.constraints.count() == 3
    constraint.refresh_from_db()
    assert constraint.statement == "Redact full card numbers"
    denials = [e.payload["attempted"] for e in ledger_of(in_review) if e.action == LedgerAction.DENIED]
    assert denials == ["constraint_save", "constraint_save", "constraint_remove", "requirements_update"]


def test_signing_needs_an_effective_raci(use_case, drafter, product_owner, risk, cc17) -> None:
    raci_revision_propose(use_case=use_case, actor=risk, grid=valid_grid(), rationale="Not approved yet.")
    document = requirements_submit(document=draft(use_case, drafter, cc17), actor=drafter)

    with pytest.raises(ActionDenied, match="no approved RACI"):
        requirements_sign(document=document, actor=product_owner, password=PASSWORD)

    assert signatures_on(document) == []
    denial = ledger_of(document)[-1]
    assert (denial.action, denial.actor, denial.payload["attempted"]) == (
        LedgerAction.DENIED,
        product_owner,
        "requirements_sign",
    )


def test_the_accountable_role_and_compliance_sign_and_the_document_is_approved(
    product_owner, compliance, in_review
) -> None:
    after_first = requirements_sign(document=in_review, actor=product_owner, password=PASSWORD)
    assert after_first.state == RequirementsState.IN_REVIEW

    approved = requirements_sign(document=in_review, actor=compliance, password=PASSWORD)

    approved.refresh_from_db()
    assert approved.state == RequirementsState.APPROVED
    assert sorted((s.signer.username, s.meaning) for s in signatures_on(approved)) == [
        ("compliance", COMPLIANCE_MEANING),
        ("po", ACCOUNTABLE_MEANING),
    ]
    assert all(valid for _signature, valid in signatures_for(approved))
    entries = ledger_of(approved)
    signs = [(e.actor, e.payload["meaning"]) for e in entries if e.action == LedgerAction.SIGN]
    assert signs == [(product_owner, ACCOUNTABLE_MEANING), (compliance, COMPLIANCE_MEANING)]
    transition = [e for e in entries if e.action == LedgerAction.TRANSITION][-1]
    assert (transition.payload["target"], transition.actor) == ("approved", compliance)


def test_compliance_may_sign_first(product_owner, compliance, in_review) -> None:
    requirements_sign(document=in_review, actor=compliance, password=PASSWORD)

    approved = requirements_sign(document=in_review, actor=product_owner, password=PASSWORD)

    assert approved.state == RequirementsState.APPROVED


def test_a_wrong_password_signs_nothing(product_owner, in_review) -> None:
    with pytest.raises(ActionDenied, match="Re-authentication failed"):
        requirements_sign(document=in_review, actor=product_owner, password="wrong")

    assert signatures_on(in_review) == []
    assert ledger_of(in_review)[-1].action == LedgerAction.DENIED


def test_the_drafter_cannot_sign(raci, use_case, product_owner, compliance, cc17) -> None:
    document = requirements_submit(document=draft(use_case, product_owner, cc17), actor=product_owner)

    with pytest.raises(ActionDenied, match="You drafted or submitted this document"):
        requirements_sign(document=document, actor=product_owner, password=PASSWORD)

    assert signatures_on(document) == []
    assert ledger_of(document)[-1].action == LedgerAction.DENIED


def test_the_submitter_cannot_sign_but_another_accountable_member_can(
    raci, use_case, drafter, user_in_role, compliance, cc17
) -> None:
    submitter = user_in_role(Role.PRODUCT_OWNER, username="po-submitter")
    colleague = user_in_role(Role.PRODUCT_OWNER, username="po-colleague")
    document = requirements_submit(document=draft(use_case, drafter, cc17), actor=submitter)

    with pytest.raises(ActionDenied, match="You drafted or submitted this document"):
        requirements_sign(document=document, actor=submitter, password=PASSWORD)
    approved = approve(document, colleague, compliance)

    assert approved.state == RequirementsState.APPROVED


def test_one_person_holding_both_roles_cannot_sign_twice(user_in_role, in_review) -> None:
    both = user_in_role(Role.PRODUCT_OWNER, username="po-and-compliance")
    give_role(both, Role.COMPLIANCE_REVIEWER)

    first = requirements_sign(document=in_review, actor=both, password=PASSWORD)
    with pytest.raises(ActionDenied, match="already signed"):
        requirements_sign(document=in_review, actor=both, password=PASSWORD)

    assert first.state == RequirementsState.IN_REVIEW
    assert [s.meaning for s in signatures_on(in_review)] == [ACCOUNTABLE_MEANING]


def test_a_capacity_already_given_cannot_be_given_again_by_another(user_in_role, compliance, in_review) -> None:
    second_compliance = user_in_role(Role.COMPLIANCE_REVIEWER, username="compliance-2")
    requirements_sign(document=in_review, actor=compliance, password=PASSWORD)

    with pytest.raises(ActionDenied, match="you cannot give a signature it still needs"):
        requirements_sign(document=in_review, actor=second_compliance, password=PASSWORD)

    in_review.refresh_from_db()
    assert in_review.state == RequirementsState.IN_REVIEW


@pytest.mark.parametrize("role", [Role.RISK_OFFICER, Role.ML_ENGINEER, Role.AUDITOR, Role.LEGAL_REVIEWER])
def test_someone_in_neither_required_role_cannot_sign(user_in_role, in_review, role: Role) -> None:
    someone = user_in_role(role, username="someone")

    assert required_capacities(in_review, someone) == []
    with pytest.raises(ActionDenied, match="cannot give a signature it still needs"):
        requirements_sign(document=in_review, actor=someone, password=PASSWORD)

    assert signatures_on(in_review) == []
    denial = ledger_of(in_review)[-1]
    assert (denial.action, denial.actor) == (LedgerAction.DENIED, someone)


def test_an_administrator_without_a_role_cannot_sign(admin_user, in_review) -> None:
    admin_user.set_password(PASSWORD)
    admin_user.save()

    with pytest.raises(ActionDenied):
        requirements_sign(document=in_review, actor=admin_user, password=PASSWORD)

    assert signatures_on(in_review) == []


def test_the_accountable_role_follows_the_effective_raci(
    use_case, risk, second_risk, raci, product_owner, compliance, user_in_role, in_review
) -> None:
    data_steward = user_in_role(Role.DATA_STEWARD, username="steward")
    proposal = raci_revision_propose(
        use_case=use_case,
        actor=risk,
        grid=valid_grid(requirements=Role.DATA_STEWARD),
        rationale="Data Steward owns requirements.",
    )
    revision_approve(revision=proposal, approver=second_risk, password=PASSWORD)

    with pytest.raises(ActionDenied):
        requirements_sign(document=in_review, actor=product_owner, password=PASSWORD)
    requirements_sign(document=in_review, actor=data_steward, password=PASSWORD)
    approved = requirements_sign(document=in_review, actor=compliance, password=PASSWORD)

    assert approved.state == RequirementsState.APPROVED
    assert "Approved as Accountable for Requirements (Data Steward)" in {s.meaning for s in signatures_on(approved)}


def test_approving_version_two_supersedes_version_one(
    use_case, drafter, product_owner, compliance, cc17, in_review
) -> None:
    first = approve(in_review, product_owner, compliance)
    second = requirements_submit(document=draft(use_case, drafter, cc17, title="Billing v2"), actor=drafter)

    second = approve(second, product_owner, compliance)

    first.refresh_from_db()
    assert (first.state, second.state, second.version) == (
        RequirementsState.SUPERSEDED,
        RequirementsState.APPROVED,
        2,
    )
    superseded = [e for e in ledger_of(first) if e.action == LedgerAction.TRANSITION][-1]
    assert (superseded.payload["source"], superseded.payload["target"]) == ("approved", "superseded")
    assert superseded.actor == compliance
    assert all(valid for _signature, valid in signatures_for(first))


def test_an_approved_document_cannot_be_signed_or_returned(product_owner, compliance, in_review) -> None:
    approve(in_review, product_owner, compliance)

    with pytest.raises(ActionDenied, match="not in review"):
        requirements_sign(document=in_review, actor=product_owner, password=PASSWORD)
    with pytest.raises(ActionDenied, match="Only a document in review"):
        requirements_return_to_draft(document=in_review, actor=compliance, reason="Too late.")

    in_review.refresh_from_db()
    assert in_review.state == RequirementsState.APPROVED


def test_a_signer_returns_the_document_to_draft_with_a_reason(compliance, in_review) -> None:
    returned = requirements_return_to_draft(
        document=in_review, actor=compliance, reason=" Say which disclaimer text applies. "
    )

    returned.refresh_from_db()
    assert returned.state == RequirementsState.DRAFT
    entries = ledger_of(returned)
    transition = [e for e in entries if e.action == LedgerAction.TRANSITION][-1]
    assert (transition.payload["source"], transition.payload["target"], transition.actor) == (
        "in_review",
        "draft",
        compliance,
    )
    update = [e for e in entries if e.action == LedgerAction.UPDATE][-1]
    assert update.payload["reason"] == "Say which disclaimer text applies."
    assert update.actor == compliance


def test_returning_needs_a_reason(compliance, in_review) -> None:
    with pytest.raises(ValidationError) as raised:
        requirements_return_to_draft(document=in_review, actor=compliance, reason="  ")

    assert "reason" in raised.value.message_dict
    in_review.refresh_from_db()
    assert in_review.state == RequirementsState.IN_REVIEW


@pytest.mark.parametrize("role", [Role.ML_ENGINEER, Role.RISK_OFFICER])
def test_only_a_required_signer_can_return_the_document(user_in_role, in_review, role: Role) -> None:
    someone = user_in_role(role, username="someone")

    with pytest.raises(ActionDenied, match="Only a required signer"):
        requirements_return_to_draft(document=in_review, actor=someone, reason="I do not like it.")

    in_review.refresh_from_db()
    assert in_review.state == RequirementsState.IN_REVIEW
    denial = ledger_of(in_review)[-1]
    assert (denial.action, denial.payload["attempted"]) == (LedgerAction.DENIED, "requirements_return")


def test_a_signature_no_longer_counts_once_the_returned_document_is_edited(
    drafter, product_owner, compliance, in_review
) -> None:
    requirements_sign(document=in_review, actor=product_owner, password=PASSWORD)
    requirements_return_to_draft(document=in_review, actor=compliance, reason="Name the disclaimer.")
    disclaimer = in_review.constraints.get(kind=ConstraintKind.DISCLAIMER)
    constraint_save(
        document=in_review,
        actor=drafter,
        constraint=disclaimer,
        applies_when=BALANCES,
        statement="Append billing disclaimer BD-3",
        kind=ConstraintKind.DISCLAIMER,
        severity=Severity.CRITICAL,
    )
    requirements_submit(document=in_review, actor=drafter)

    [(old_signature, holds)] = signatures_for(in_review)
    assert old_signature.signer == product_owner
    assert not holds
    still_in_review = requirements_sign(document=in_review, actor=compliance, password=PASSWORD)
    assert still_in_review.state == RequirementsState.IN_REVIEW
    approved = requirements_sign(document=in_review, actor=product_owner, password=PASSWORD)
    assert approved.state == RequirementsState.APPROVED


def test_returning_without_editing_keeps_the_signature(drafter, product_owner, compliance, in_review) -> None:
    requirements_sign(document=in_review, actor=product_owner, password=PASSWORD)
    requirements_return_to_draft(document=in_review, actor=compliance, reason="Second thoughts.")
    requirements_submit(document=in_review, actor=drafter)

    [(_signature, holds)] = signatures_for(in_review)
    assert holds


def test_the_signing_page_shows_the_capacity_that_will_be_recorded(
    client, user_in_role, product_owner, in_review
) -> None:
    """Someone holding two signing roles, one of which is already signed for, is shown the other (§11.50)."""
    from django.urls import reverse

    from governance.services.requirements import COMPLIANCE_MEANING, open_capacities

    requirements_sign(document=in_review, actor=product_owner, password=PASSWORD)
    dual = user_in_role(Role.PRODUCT_OWNER, username="dual-role")
    give_role(dual, Role.COMPLIANCE_REVIEWER)
    login_verified(client, dual)
    url = reverse("admin:governance_requirementsdocument_sign", args=[in_review.pk])

    page = client.get(url).content.decode()
    client.post(url, {"username": "dual-role", "password": PASSWORD})

    assert f'id="signature-meaning">{COMPLIANCE_MEANING}<' in page
    in_review.refresh_from_db()
    assert in_review.state == RequirementsState.APPROVED
    assert {signature.meaning for signature, _valid in signatures_for(in_review)} >= {COMPLIANCE_MEANING}
    assert open_capacities(in_review, dual) == []


def test_the_drafter_is_told_before_any_password_that_others_sign_and_who_they_are(
    client, product_owner, compliance, drafter, in_review
) -> None:
    login_verified(client, drafter)
    url = reverse("admin:governance_requirementsdocument_sign", args=[in_review.pk])

    page = client.get(url)
    before = {person.username for person in requirements_signers(in_review)}
    requirements_sign(document=in_review, actor=product_owner, password=PASSWORD)
    after_one = {person.username for person in requirements_signers(in_review)}

    assert page.status_code == 403
    assert 'id="id_password"' not in page.content.decode()
    assert "You drafted or submitted this document; others must sign it." in page.content.decode()
    assert before == {"po", "compliance", "policy-owner"}  # the Accountable Product Owner, and Compliance
    assert after_one == {"compliance", "policy-owner"}  # Compliance's signature is the one still needed
