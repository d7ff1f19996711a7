"""A signing page says no before the password: the reason comes from the check the approval service refuses with,
a post from someone refused is recorded without a password being read, and the page names who can sign in a
number of queries that does not grow with the number of people."""

import pytest
from axes.models import AccessAttempt
from django.contrib.auth import get_user_model
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.choices import Role, RoleGrantState
from accounts.services.role_grants import role_grant_decide_refusal, role_grant_deciders, role_grant_request
from audit.choices import LedgerAction
from audit.models import LedgerEntry
from governance.choices import RevisionState
from governance.services.revisions import revision_decide_refusal, revision_deciders
from governance.services.thresholds import PLAYBOOK_DEFAULTS, RuleInput, threshold_revision_propose
from tests.conftest import give_role
from tests.governance.conftest import PASSWORD
from tests.signing_in import login_verified

pytestmark = pytest.mark.django_db

User = get_user_model()


@pytest.fixture
def proposer(user_in_role):
    return user_in_role(Role.RISK_OFFICER, username="risk")


@pytest.fixture
def pending(proposer):
    rules = {dimension: RuleInput(*values) for dimension, values in PLAYBOOK_DEFAULTS.items()}
    return threshold_revision_propose(use_case=None, actor=proposer, rules=rules, rationale="Defaults.")


def approve_url(revision) -> str:
    return reverse("admin:governance_thresholdpolicy_approve", args=[revision.pk])


def test_a_refused_post_is_recorded_for_its_reason_and_no_password_is_read(client: Client, proposer, pending) -> None:
    login_verified(client, proposer)

    response = client.post(approve_url(pending), {"username": "risk", "password": "a wrong password"})

    assert response.status_code == 403
    assert "You proposed this revision; another person must decide on it." in response.content.decode()
    denial = LedgerEntry.objects.filter(action=LedgerAction.DENIED, actor=proposer).get()
    assert denial.payload["reason"] == "You proposed this revision; another person must decide on it."
    assert not AccessAttempt.objects.exists()  # the wrong password was never tried: nothing counts to a lockout
    pending.refresh_from_db()
    assert pending.state == RevisionState.PENDING


@pytest.mark.parametrize(
    ("role", "refusal"),
    [
        (Role.RISK_OFFICER, None),
        (Role.COMPLIANCE_REVIEWER, None),
        (Role.LEGAL_REVIEWER, "Only a Risk Officer or a Compliance reviewer may decide on this revision."),
        (Role.AUDITOR, "Only a Risk Officer or a Compliance reviewer may decide on this revision."),
    ],
)
def test_the_page_and_the_service_agree_on_who_may_decide_a_revision(
    client: Client, user_in_role, pending, role: Role, refusal: str | None
) -> None:
    person = user_in_role(role, username="someone")
    login_verified(client, person)

    page = client.get(approve_url(pending)).content.decode()

    assert revision_decide_refusal(pending, person) == refusal
    assert (person in revision_deciders(pending)) is (refusal is None)
    assert ('id="id_password"' in page) is (refusal is None)
    if refusal:
        assert refusal in page


def test_the_refusal_page_names_every_decider_in_as_many_queries_for_ten_as_for_one(
    client: Client, user_in_role, proposer, pending
) -> None:
    outsider = user_in_role(Role.LEGAL_REVIEWER, username="legal")
    login_verified(client, outsider)
    client.get(approve_url(pending))  # warm the session and content types

    user_in_role(Role.RISK_OFFICER, username="risk-1")
    with CaptureQueriesContext(connection) as one:
        few = client.get(approve_url(pending))
    for number in range(2, 11):
        user_in_role(Role.COMPLIANCE_REVIEWER if number % 2 else Role.RISK_OFFICER, username=f"risk-{number}")
    with CaptureQueriesContext(connection) as ten:
        many = client.get(approve_url(pending))

    assert few.status_code == many.status_code == 403
    assert all(f"<strong>risk-{number}</strong>" in many.content.decode() for number in range(1, 11))
    assert "<strong>risk</strong>" not in many.content.decode()  # the proposer
    assert len(ten) == len(one)


@pytest.fixture
def access_admin(role_groups):
    from django.contrib.auth.models import Permission

    user = User.objects.create_user(username="iam", password=PASSWORD, is_staff=True, first_name="Ida")
    user.user_permissions.add(Permission.objects.get(codename="request_rolegrant"))
    return user


def test_the_requester_of_a_role_grant_and_its_subject_are_told_why_not_and_who_can(
    client: Client, user_in_role, access_admin
) -> None:
    risk = user_in_role(Role.RISK_OFFICER, username="risk")
    colleague = user_in_role(Role.COMPLIANCE_REVIEWER, username="colleague")
    grant = role_grant_request(user=colleague, role=Role.RISK_OFFICER, requested_by=access_admin, reason="HR-1")
    url = reverse("admin:accounts_rolegrant_approve", args=[grant.pk])
    state = {"state": RoleGrantState.REQUESTED, "maker_id": access_admin.pk}

    login_verified(client, colleague)
    own = client.get(url)

    assert own.status_code == 403
    assert "Nobody decides on their own roles; another person must." in own.content.decode()
    assert role_grant_decide_refusal(grant, access_admin, **state) == (
        "You asked for this change; a second person must decide on it."
    )
    assert role_grant_deciders(grant, **state) == [risk]
    assert "<strong>risk</strong>" in own.content.decode()


def test_a_deactivated_approver_is_named_nowhere(client: Client, user_in_role, proposer, pending) -> None:
    gone = user_in_role(Role.RISK_OFFICER, username="gone")
    stays = user_in_role(Role.COMPLIANCE_REVIEWER, username="stays")
    give_role(stays, Role.RISK_OFFICER)
    gone.is_active = False
    gone.save()

    assert revision_deciders(pending) == [stays]
