"""Portal roles are governed: an access administrator asks, a second person (Risk Officer or Compliance reviewer)
signs, and only an approved grant makes a role count at signing. Nobody grants or approves their own role, and an
administrator (superuser) holds none."""

import importlib
from io import StringIO

import pytest
from django.apps import apps as django_apps
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command
from django.db import IntegrityError, transaction

from accounts.authz import holds_approval_permission, roles_of
from accounts.checks import superusers_with_roles_check
from accounts.choices import Role, RoleGrantBasis, RoleGrantState
from accounts.models import RoleGrant
from accounts.services.role_grants import (
    role_grant_approve,
    role_grant_bootstrap,
    role_grant_record,
    role_grant_reject,
    role_grant_request,
    role_grant_revocation_approve,
    role_grant_revocation_reject,
    role_grant_revocation_request,
)
from audit.choices import LedgerAction
from audit.ledger import ActionDenied
from audit.models import LedgerEntry
from audit.signatures import signatures_for
from governance.choices import RevisionState
from governance.services.revisions import revision_approve
from governance.services.thresholds import PLAYBOOK_DEFAULTS, RuleInput, threshold_revision_propose
from tests import services
from tests.concurrency import run_at_once
from tests.conftest import give_role
from tests.governance.conftest import PASSWORD

pytestmark = pytest.mark.django_db

User = get_user_model()
THRESHOLD_APPROVAL = "governance.approve_thresholdpolicy"


@pytest.fixture
def access_admin(role_groups):
    """An access administrator who is not a superuser: staff, given the request permission directly."""
    user = User.objects.create_user(username="iam", password=PASSWORD, is_staff=True, first_name="Ida")
    user.user_permissions.add(Permission.objects.get(codename="request_rolegrant"))
    return user


@pytest.fixture
def administrator(role_groups):
    return User.objects.create_superuser(username="root", password=PASSWORD)


@pytest.fixture
def newcomer(role_groups):
    return User.objects.create_user(username="newcomer", password=PASSWORD, is_staff=True, last_name="Novak")


@pytest.fixture
def risk(user_in_role):
    return user_in_role(Role.RISK_OFFICER, username="risk")


@pytest.fixture
def compliance_officer(user_in_role):
    return user_in_role(Role.COMPLIANCE_REVIEWER, username="compliance")


@pytest.fixture
def requested(newcomer, administrator) -> RoleGrant:
    return role_grant_request(
        user=newcomer, role=Role.RISK_OFFICER, requested_by=administrator, reason="Joins the risk team (HR-1234)."
    )


def pending_thresholds(proposer) -> object:
    rules = {dimension: RuleInput(*values) for dimension, values in PLAYBOOK_DEFAULTS.items()}
    return threshold_revision_propose(use_case=None, actor=proposer, rules=rules, rationale="Defaults.")


def denials(attempted: str) -> list[LedgerEntry]:
    return [
        entry
        for entry in LedgerEntry.objects.filter(action=LedgerAction.DENIED).order_by("sequence")
        if entry.payload["attempted"] == attempted
    ]


def fresh(user) -> object:
    return User.objects.get(pk=user.pk)  # authz caches permissions on the object


def test_a_requested_role_is_held_only_after_a_second_person_approves(requested, newcomer, risk) -> None:
    assert requested.state == RoleGrantState.REQUESTED
    assert not newcomer.groups.filter(name=Role.RISK_OFFICER.value).exists()
    assert not holds_approval_permission(fresh(newcomer), THRESHOLD_APPROVAL)

    grant = role_grant_approve(grant=requested, approver=risk, password=PASSWORD)

    assert (grant.state, grant.decided_by, grant.basis) == (RoleGrantState.APPROVED, risk, RoleGrantBasis.APPROVED)
    assert roles_of(fresh(newcomer)) == {Role.RISK_OFFICER.value}
    assert holds_approval_permission(fresh(newcomer), THRESHOLD_APPROVAL)
    [(signature, holds)] = signatures_for(grant)
    assert holds
    assert (signature.signer, signature.meaning) == (
        risk,
        "Approved granting the Risk Officer role to Novak as Risk Officer",
    )
    change = LedgerEntry.objects.filter(action=LedgerAction.UPDATE, object_type="auth.user", object_id=str(newcomer.pk))
    assert change.get().payload["roles"] == {"before": [], "after": [Role.RISK_OFFICER.value]}


def test_nobody_asks_for_a_role_for_themselves(access_admin) -> None:
    with pytest.raises(ActionDenied, match="Nobody asks for a role for themselves"):
        role_grant_request(user=access_admin, role=Role.RISK_OFFICER, requested_by=access_admin, reason="Mine.")

    assert not RoleGrant.objects.exists()
    assert len(denials("role_grant_request")) == 1


def test_nobody_approves_a_grant_to_themselves(administrator, risk) -> None:
    grant = role_grant_request(user=risk, role=Role.COMPLIANCE_REVIEWER, requested_by=administrator, reason="Cover.")

    with pytest.raises(ActionDenied, match="Nobody decides on their own roles"):
        role_grant_approve(grant=grant, approver=risk, password=PASSWORD)

    grant.refresh_from_db()
    assert grant.state == RoleGrantState.REQUESTED
    assert Role.COMPLIANCE_REVIEWER.value not in roles_of(fresh(risk))
    assert len(denials("role_grant_approve")) == 1


def test_the_requester_cannot_also_approve(access_admin, newcomer) -> None:
    give_role(access_admin, Role.RISK_OFFICER)  # may approve grants, and is an access administrator
    grant = role_grant_request(user=newcomer, role=Role.AUDITOR, requested_by=access_admin, reason="Audit season.")

    with pytest.raises(ActionDenied, match="You asked for this change; a second person"):
        role_grant_approve(grant=grant, approver=fresh(access_admin), password=PASSWORD)

    with pytest.raises(IntegrityError), transaction.atomic():  # and the database agrees
        RoleGrant.objects.create(
            user=newcomer, role=Role.LEGAL_REVIEWER, reason="x", requested_by=access_admin, decided_by=access_admin
        )


def test_only_an_access_administrator_asks_for_roles(risk, newcomer) -> None:
    with pytest.raises(ActionDenied, match="Only an access administrator"):
        role_grant_request(user=newcomer, role=Role.AUDITOR, requested_by=risk, reason="Helping out.")


@pytest.mark.parametrize("role", [Role.LEGAL_REVIEWER, Role.PRODUCT_OWNER, Role.AUDITOR, Role.ML_ENGINEER])
def test_only_risk_officers_and_compliance_reviewers_approve_grants(user_in_role, requested, role: Role) -> None:
    someone = user_in_role(role, username="someone")

    with pytest.raises(ActionDenied, match="Only a Risk Officer or a Compliance reviewer"):
        role_grant_approve(grant=requested, approver=someone, password=PASSWORD)


def test_a_compliance_reviewer_approves_too(requested, compliance_officer, newcomer) -> None:
    role_grant_approve(grant=requested, approver=compliance_officer, password=PASSWORD)

    assert roles_of(fresh(newcomer)) == {Role.RISK_OFFICER.value}


def test_a_decided_grant_cannot_be_decided_again(requested, risk, compliance_officer) -> None:
    role_grant_approve(grant=requested, approver=risk, password=PASSWORD)

    with pytest.raises(ActionDenied, match="is approved, not requested"):
        role_grant_approve(grant=requested, approver=compliance_officer, password=PASSWORD)
    with pytest.raises(ActionDenied, match="is approved, not requested"):
        role_grant_reject(grant=requested, approver=compliance_officer, note="Too late.")


def test_a_rejected_request_grants_nothing_and_keeps_the_reason(requested, risk, newcomer) -> None:
    with pytest.raises(ValidationError):
        role_grant_reject(grant=requested, approver=risk, note="  ")

    grant = role_grant_reject(grant=requested, approver=risk, note="Not on the risk team yet.")

    assert (grant.state, grant.decision_note) == (RoleGrantState.REJECTED, "Not on the risk team yet.")
    assert roles_of(fresh(newcomer)) == set()


def test_a_wrong_password_grants_nothing(requested, risk, newcomer) -> None:
    with pytest.raises(ActionDenied, match="Re-authentication failed"):
        role_grant_approve(grant=requested, approver=risk, password="not-it")

    requested.refresh_from_db()
    assert requested.state == RoleGrantState.REQUESTED
    assert not newcomer.groups.exists()


def test_a_second_request_for_the_same_role_is_refused(requested, newcomer, administrator) -> None:
    with pytest.raises(ValidationError, match="already has this role or a request for it"):
        role_grant_request(user=newcomer, role=Role.RISK_OFFICER, requested_by=administrator, reason="Again.")

    with pytest.raises(IntegrityError), transaction.atomic():  # the database holds one open grant per role
        RoleGrant.objects.create(user=newcomer, role=Role.RISK_OFFICER, reason="Raw.", requested_by=administrator)


def test_an_unknown_role_is_a_clear_error(newcomer, administrator) -> None:
    with pytest.raises(ValidationError, match="'Janitor' is not a portal role"):
        role_grant_request(user=newcomer, role="Janitor", requested_by=administrator, reason="Mops.")


def test_an_administrator_cannot_be_given_a_role(administrator, access_admin) -> None:
    with pytest.raises(ActionDenied, match="an administrator holds no portal role"):
        role_grant_request(user=administrator, role=Role.RISK_OFFICER, requested_by=access_admin, reason="Boss.")
    with pytest.raises(ActionDenied, match="an administrator holds no portal role"):
        role_grant_record(user=administrator, role=Role.RISK_OFFICER, basis=RoleGrantBasis.PROVISIONED, reason="x")

    assert not RoleGrant.objects.exists()


def test_a_person_made_administrator_after_the_request_is_not_granted(requested, newcomer, risk) -> None:
    newcomer.is_superuser = True
    newcomer.save()

    with pytest.raises(ActionDenied, match="an administrator holds no portal role"):
        role_grant_approve(grant=requested, approver=risk, password=PASSWORD)


def test_an_administrator_who_joins_a_role_group_still_approves_nothing(administrator, risk) -> None:
    """The attack: the superuser adds itself to the Risk Officer group (as the stock user page allowed) and signs
    a pending threshold revision."""
    pending = pending_thresholds(risk)
    administrator.groups.add(Group.objects.get(name=Role.RISK_OFFICER.value))

    with pytest.raises(ActionDenied, match="Only a Risk Officer or a Compliance reviewer"):
        revision_approve(revision=pending, approver=fresh(administrator), password=PASSWORD)

    pending.refresh_from_db()
    assert pending.state == RevisionState.PENDING


def test_a_group_membership_added_around_the_service_does_not_count_at_signing(newcomer, risk) -> None:
    pending = pending_thresholds(risk)
    newcomer.groups.add(Group.objects.get(name=Role.RISK_OFFICER.value))  # raw membership, no grant

    assert roles_of(fresh(newcomer)) == set()
    with pytest.raises(ActionDenied, match="Only a Risk Officer or a Compliance reviewer"):
        revision_approve(revision=pending, approver=fresh(newcomer), password=PASSWORD)
    pending.refresh_from_db()
    assert pending.state == RevisionState.PENDING


def test_a_grant_whose_membership_was_removed_around_the_service_does_not_count(requested, newcomer, risk) -> None:
    role_grant_approve(grant=requested, approver=risk, password=PASSWORD)
    newcomer.groups.clear()

    assert roles_of(fresh(newcomer)) == set()


def test_a_removal_is_requested_and_approved_by_a_second_person(requested, newcomer, risk, administrator) -> None:
    held = role_grant_approve(grant=requested, approver=risk, password=PASSWORD)
    held = role_grant_revocation_request(grant=held, requested_by=administrator, reason="Left the risk team.")
    assert held.state == RoleGrantState.REVOCATION_REQUESTED
    assert roles_of(fresh(newcomer)) == {Role.RISK_OFFICER.value}  # held until the removal is approved

    with pytest.raises(ActionDenied, match="Nobody decides on their own roles"):
        role_grant_revocation_approve(grant=held, approver=fresh(newcomer), password=PASSWORD)
    revoked = role_grant_revocation_approve(grant=held, approver=risk, password=PASSWORD)

    assert (revoked.state, revoked.revoked_by) == (RoleGrantState.REVOKED, risk)
    assert roles_of(fresh(newcomer)) == set()
    assert not newcomer.groups.exists()
    last = LedgerEntry.objects.filter(action=LedgerAction.UPDATE, object_type="auth.user").order_by("sequence").last()
    assert last.payload["roles"] == {"before": [Role.RISK_OFFICER.value], "after": []}
    newest, _holds = signatures_for(revoked)[0]
    assert newest.meaning.startswith("Approved removing the Risk Officer role")


def test_a_refused_removal_keeps_the_role(requested, newcomer, risk, compliance_officer, administrator) -> None:
    held = role_grant_approve(grant=requested, approver=risk, password=PASSWORD)
    held = role_grant_revocation_request(grant=held, requested_by=administrator, reason="Reorganisation.")

    kept = role_grant_revocation_reject(grant=held, approver=compliance_officer, note="Still needed for Q4.")

    assert kept.state == RoleGrantState.APPROVED
    assert roles_of(fresh(newcomer)) == {Role.RISK_OFFICER.value}


def test_bootstrap_gives_the_first_approvers_and_then_closes(newcomer, role_groups) -> None:
    first = role_grant_bootstrap(user=newcomer, role=Role.RISK_OFFICER, reason="Board decision 2026-12.")
    assert (first.basis, first.state) == (RoleGrantBasis.PROVISIONED, RoleGrantState.APPROVED)
    assert LedgerEntry.objects.filter(actor_name="system:bootstrap").exists()

    other = User.objects.create_user(username="other", password=PASSWORD, is_staff=True)
    with pytest.raises(ValidationError, match="Someone can already approve role grants"):
        role_grant_bootstrap(user=other, role=Role.RISK_OFFICER, reason="Me too.")


def test_the_deploy_check_names_administrators_holding_a_role(administrator, risk) -> None:
    assert superusers_with_roles_check() == []

    administrator.groups.add(Group.objects.get(name=Role.RISK_OFFICER.value))
    [error] = superusers_with_roles_check()

    assert error.id == "accounts.E001"
    assert error.is_serious()
    assert "root" in error.msg
    assert "risk" not in error.msg


def test_upgrading_records_grants_for_existing_members_before_governance(newcomer, administrator) -> None:
    migration = importlib.import_module("accounts.migrations.0005_role_grants")
    newcomer.groups.add(Group.objects.get(name=Role.LEGAL_REVIEWER.value))
    administrator.groups.add(Group.objects.get(name=Role.RISK_OFFICER.value))
    assert roles_of(fresh(newcomer)) == set()

    migration.grants_for_existing_members(django_apps, None)
    migration.grants_for_existing_members(django_apps, None)  # idempotent

    [grant] = RoleGrant.objects.all()
    assert (grant.user, grant.role, grant.basis) == (newcomer, Role.LEGAL_REVIEWER, RoleGrantBasis.BEFORE_GOVERNANCE)
    assert roles_of(fresh(newcomer)) == {Role.LEGAL_REVIEWER.value}
    entry = LedgerEntry.objects.get(
        object_type="accounts.rolegrant", object_id=str(grant.pk), actor_name="system:migration"
    )
    assert entry.payload["basis"] == "before_governance"


@services.postgres_race
@pytest.mark.django_db(transaction=True)
def test_two_approvers_approving_the_same_grant_at_once_approve_it_once(
    requested, newcomer, risk, compliance_officer
) -> None:
    outcomes = run_at_once(
        lambda: role_grant_approve(grant=requested, approver=risk, password=PASSWORD),
        lambda: role_grant_approve(grant=requested, approver=compliance_officer, password=PASSWORD),
    )

    assert sorted(outcome.refused(ActionDenied) for outcome in outcomes) == [False, True]
    requested.refresh_from_db()
    assert requested.state == RoleGrantState.APPROVED
    assert len(signatures_for(requested)) == 1
    assert list(newcomer.groups.values_list("name", flat=True)) == [Role.RISK_OFFICER.value]


def test_the_bootstrap_command_names_the_first_approver_and_then_refuses(newcomer, role_groups) -> None:
    out = StringIO()
    call_command("bootstrap_role", username="newcomer", role="Risk Officer", reason="Board decision.", stdout=out)
    assert "Risk Officer for newcomer recorded" in out.getvalue()

    User.objects.create_user(username="other", password=PASSWORD, is_staff=True)
    with pytest.raises(CommandError, match="Someone can already approve role grants"):
        call_command("bootstrap_role", username="other", role="Risk Officer", reason="Me too.")


def test_an_administrator_cannot_give_a_role_more_permissions_on_the_group_page(
    client, admin_user, role_groups
) -> None:
    """The other way round the role grants: the stock group page would let an administrator add an approval to the
    Auditor role, and so to every auditor. The page shows a role's permissions; a post is refused and recorded."""
    from django.urls import reverse

    from tests.audit.test_audit_admin import signed_in

    auditors = Group.objects.get(name=Role.AUDITOR.value)
    before = set(auditors.permissions.values_list("pk", flat=True))
    approval = Permission.objects.get(codename="approve_breakglassoverride")
    signed_in(client, admin_user)
    url = reverse("admin:auth_group_change", args=[auditors.pk])

    page = client.get(url)
    posted = client.post(url, {"name": auditors.name, "permissions": [*before, approval.pk]})
    added = client.get(reverse("admin:auth_group_add"))

    assert page.status_code == 200
    assert b'name="permissions"' not in page.content
    assert posted.status_code == 403
    assert added.status_code == 403
    assert set(auditors.permissions.values_list("pk", flat=True)) == before
    denial = LedgerEntry.objects.filter(action=LedgerAction.DENIED).latest("sequence")
    assert denial.payload["attempted"] == "change a role's permissions"
