"""The dataset approval workflow: Legal, then Security, then Compliance, each an electronic signature by the
reviewer assigned to that stage, never by the author, an administrator, or one person signing twice."""

import pytest
from django.core.exceptions import ValidationError
from guardian.shortcuts import assign_perm

from accounts.choices import Role
from audit.choices import LedgerAction
from audit.ledger import ActionDenied
from audit.models import Signature
from lineage.choices import STAGES, DatasetVersionState
from lineage.models import DatasetVersion
from lineage.selectors import approved_for_training, assigned_reviewers, is_assigned, stage_of
from lineage.services import (
    dataset_version_assign_reviewer,
    dataset_version_reject,
    dataset_version_request_changes,
    dataset_version_review_approve,
    dataset_version_submit,
)
from tests.conftest import give_role
from tests.governance.conftest import PASSWORD
from tests.lineage.conftest import ledger_of, sourced_version

pytestmark = pytest.mark.django_db

LEGAL, SECURITY, COMPLIANCE = STAGES


def fresh(version) -> DatasetVersion:
    return DatasetVersion.objects.get(pk=version.pk)


def submitted(dataset, engineer, source) -> DatasetVersion:
    return dataset_version_submit(version=sourced_version(dataset, engineer, source), actor=engineer)


def assigned(version, stage) -> list:
    return assigned_reviewers(fresh(version), stage)


def approve(version, reviewer, password: str = PASSWORD) -> DatasetVersion:
    return dataset_version_review_approve(version=version, reviewer=reviewer, password=password)


def refused(version, reviewer, password: str = PASSWORD) -> ActionDenied:
    """Approving is refused, recorded, and changes nothing."""
    before = fresh(version).state
    signatures = Signature.objects.count()
    with pytest.raises(ActionDenied) as raised:
        approve(version, reviewer, password)
    assert fresh(version).state == before
    assert Signature.objects.count() == signatures
    denial = ledger_of(version)[-1]
    assert (denial.action, denial.actor) == (LedgerAction.DENIED, reviewer)
    return raised.value


def test_submission_assigns_the_legal_reviewers_in_turn(user_in_role, engineer, support_chats, crm) -> None:
    first = user_in_role(Role.LEGAL_REVIEWER, username="legal-1")
    second = user_in_role(Role.LEGAL_REVIEWER, username="legal-2")

    one = submitted(support_chats, engineer, crm)
    two = submitted(support_chats, engineer, crm)

    assert one.state == two.state == DatasetVersionState.LEGAL_REVIEW
    assert assigned(one, LEGAL) == [first]
    assert assigned(two, LEGAL) == [second]
    assert assigned(one, SECURITY) == assigned(one, COMPLIANCE) == []


def test_three_different_reviewers_approve_a_version_for_training(
    engineer, legal, security, compliance, support_chats, crm
) -> None:
    version = submitted(support_chats, engineer, crm)
    assert assigned(version, LEGAL) == [legal]

    version = approve(version, legal)
    assert version.state == DatasetVersionState.SECURITY_REVIEW
    assert assigned(version, SECURITY) == [security]
    assert approved_for_training(fresh(version))[0] is False

    version = approve(version, security)
    assert version.state == DatasetVersionState.COMPLIANCE_REVIEW
    assert assigned(version, COMPLIANCE) == [compliance]

    version = approve(version, compliance)
    assert fresh(version).state == DatasetVersionState.APPROVED
    signs = [entry for entry in ledger_of(version) if entry.action == LedgerAction.SIGN]
    assert [(entry.actor, entry.payload["meaning"]) for entry in signs] == [
        (legal, LEGAL.meaning),
        (security, SECURITY.meaning),
        (compliance, COMPLIANCE.meaning),
    ]
    assert approved_for_training(fresh(version)) == (True, [])


def test_a_security_reviewer_cannot_act_at_the_legal_stage(engineer, legal, security, support_chats, crm) -> None:
    version = submitted(support_chats, engineer, crm)
    assign_perm(f"lineage.{LEGAL.permission}", security, version)

    assert "Legal Reviewer" in refused(version, security).reason
    with pytest.raises(ActionDenied):
        dataset_version_reject(version=version, reviewer=security, reason="Not mine to say.")


def test_only_the_assigned_legal_reviewer_may_sign(user_in_role, engineer, legal, support_chats, crm) -> None:
    other = user_in_role(Role.LEGAL_REVIEWER, username="legal-2")
    version = submitted(support_chats, engineer, crm)
    assert assigned(version, LEGAL) == [legal]

    assert "not the assigned" in refused(version, other).reason
    with pytest.raises(ActionDenied):
        dataset_version_request_changes(version=version, reviewer=other, reason="Retention too long.")
    assert fresh(version).state == DatasetVersionState.LEGAL_REVIEW


def test_the_author_cannot_review_even_in_the_legal_group(engineer, steward, legal, support_chats, crm) -> None:
    give_role(engineer, Role.LEGAL_REVIEWER)
    version = submitted(support_chats, engineer, crm)
    assert assigned(version, LEGAL) == [legal]  # the rotation skips the author

    with pytest.raises(ValidationError):
        dataset_version_assign_reviewer(version=version, reviewer=engineer, actor=steward)
    assign_perm(f"lineage.{LEGAL.permission}", engineer, version)
    assert "created or submitted" in refused(version, engineer).reason


def test_nobody_signs_two_stages(user_in_role, engineer, steward, compliance, support_chats, crm) -> None:
    both = user_in_role(Role.LEGAL_REVIEWER, username="legal-and-security")
    give_role(both, Role.SECURITY_REVIEWER)
    security = user_in_role(Role.SECURITY_REVIEWER, username="security")  # joined after ``both``
    version = submitted(support_chats, engineer, crm)
    assert assigned(version, LEGAL) == [both]

    version = approve(version, both)
    assert assigned(version, SECURITY) == [security]  # not the person who signed Legal

    with pytest.raises(ValidationError):
        dataset_version_assign_reviewer(version=version, reviewer=both, actor=steward)
    assign_perm(f"lineage.{SECURITY.permission}", both, version)
    assert "already signed" in refused(version, both).reason


def test_the_two_roles_person_is_not_assigned_when_alone(user_in_role, engineer, support_chats, crm) -> None:
    both = user_in_role(Role.LEGAL_REVIEWER, username="legal-and-security")
    give_role(both, Role.SECURITY_REVIEWER)
    version = approve(submitted(support_chats, engineer, crm), both)

    assert version.state == DatasetVersionState.SECURITY_REVIEW
    assert assigned(version, SECURITY) == []


def test_an_administrator_without_the_role_is_refused(engineer, steward, legal, admin_user, support_chats, crm) -> None:
    admin_user.set_password(PASSWORD)
    admin_user.save()
    version = submitted(support_chats, engineer, crm)

    with pytest.raises(ValidationError):
        dataset_version_assign_reviewer(version=version, reviewer=admin_user, actor=steward)
    assign_perm(f"lineage.{LEGAL.permission}", admin_user, version)
    assert is_assigned(admin_user, version, LEGAL)

    refused(version, admin_user)
    with pytest.raises(ActionDenied):
        dataset_version_reject(version=version, reviewer=admin_user, reason="I run this place.")
    assert fresh(version).state == DatasetVersionState.LEGAL_REVIEW


def test_a_wrong_password_is_refused(engineer, legal, support_chats, crm) -> None:
    version = submitted(support_chats, engineer, crm)

    assert "Re-authentication failed" in refused(version, legal, password="not-the-password").reason
    assert is_assigned(legal, version, LEGAL)
    assert approve(version, legal).state == DatasetVersionState.SECURITY_REVIEW


def test_request_changes_returns_a_new_revision_to_draft(engineer, legal, security, support_chats, crm) -> None:
    version = approve(submitted(support_chats, engineer, crm), legal)
    assert version.revision == 1

    for blank in ("", "   "):
        with pytest.raises(ValidationError):
            dataset_version_request_changes(version=version, reviewer=security, reason=blank)
    assert fresh(version).state == DatasetVersionState.SECURITY_REVIEW

    version = dataset_version_request_changes(version=version, reviewer=security, reason="Encrypt the extract.")
    stored = fresh(version)
    assert (stored.state, stored.revision) == (DatasetVersionState.DRAFT, 2)
    assert all(assigned(version, stage) == [] for stage in STAGES)
    assert approved_for_training(stored)[0] is False

    again = dataset_version_submit(version=stored, actor=engineer)
    assert again.state == DatasetVersionState.LEGAL_REVIEW
    assert stage_of(fresh(version)) is LEGAL
    assert assigned(version, LEGAL) == [legal]


def test_the_assigned_reviewer_can_reject(engineer, legal, support_chats, crm) -> None:
    version = submitted(support_chats, engineer, crm)
    with pytest.raises(ValidationError):
        dataset_version_reject(version=version, reviewer=legal, reason=" ")

    dataset_version_reject(version=version, reviewer=legal, reason="No legal basis for the chat logs.")

    assert fresh(version).state == DatasetVersionState.REJECTED
    refused(version, legal)
    ok, reasons = approved_for_training(fresh(version))
    assert not ok
    assert reasons


def test_a_steward_assigns_and_reassigns_reviewers(user_in_role, engineer, steward, legal, support_chats, crm) -> None:
    other = user_in_role(Role.LEGAL_REVIEWER, username="legal-2")
    version = submitted(support_chats, engineer, crm)
    assert assigned(version, LEGAL) == [legal]

    dataset_version_assign_reviewer(version=version, reviewer=other, actor=steward)
    assert assigned(version, LEGAL) == [other]
    refused(version, legal)

    dataset_version_assign_reviewer(version=version, reviewer=legal, actor=steward)
    assert assigned(version, LEGAL) == [legal]
    assert approve(version, legal).state == DatasetVersionState.SECURITY_REVIEW


def test_an_ml_engineer_cannot_assign_reviewers(user_in_role, engineer, legal, support_chats, crm) -> None:
    other = user_in_role(Role.LEGAL_REVIEWER, username="legal-2")
    version = submitted(support_chats, engineer, crm)

    with pytest.raises(ActionDenied):
        dataset_version_assign_reviewer(version=version, reviewer=other, actor=engineer)
    assert assigned(version, LEGAL) == [legal]
    denial = ledger_of(version)[-1]
    assert (denial.action, denial.actor) == (LedgerAction.DENIED, engineer)


def test_an_ineligible_reviewer_cannot_be_assigned(engineer, steward, legal, security, support_chats, crm) -> None:
    version = submitted(support_chats, engineer, crm)

    with pytest.raises(ValidationError) as raised:
        dataset_version_assign_reviewer(version=version, reviewer=security, actor=steward)
    assert "reviewer" in raised.value.message_dict
    assert assigned(version, LEGAL) == [legal]


def test_a_draft_is_not_approved_for_training(engineer, support_chats, crm) -> None:
    ok, reasons = approved_for_training(sourced_version(support_chats, engineer, crm))

    assert ok is False
    assert any("not approved for training" in reason for reason in reasons)
    assert len(reasons) == 1 + len(STAGES)


def test_a_version_at_compliance_review_is_not_approved_for_training(
    engineer, legal, security, compliance, support_chats, crm
) -> None:
    version = approve(approve(submitted(support_chats, engineer, crm), legal), security)
    assert version.state == DatasetVersionState.COMPLIANCE_REVIEW

    ok, reasons = approved_for_training(fresh(version))
    assert ok is False
    assert any("compliance review" in reason for reason in reasons)
    assert any("Compliance Reviewer signature" in reason for reason in reasons)
    assert not any("Legal Reviewer" in reason or "Security Reviewer" in reason for reason in reasons)
