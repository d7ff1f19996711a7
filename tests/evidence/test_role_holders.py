"""The evidence pack's RACI page names who held each role, through an approved grant, when each signature was
made: a later grant or removal does not rewrite who could sign then."""

import datetime

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command

from accounts.choices import Role, RoleGrantBasis, RoleGrantState
from accounts.models import RoleGrant
from accounts.selectors import role_holders_at
from accounts.services.role_grants import (
    role_grant_approve,
    role_grant_request,
    role_grant_revocation_approve,
    role_grant_revocation_request,
)
from evidence.collect import collect
from tests.evidence.helpers import text
from tests.governance.conftest import PASSWORD

pytestmark = pytest.mark.django_db

SECOND = datetime.timedelta(seconds=1)


def test_holders_follow_the_grants_approval_and_removal_times(user_in_role) -> None:
    risk = user_in_role(Role.RISK_OFFICER, username="risk")
    compliance = user_in_role(Role.COMPLIANCE_REVIEWER, username="compliance")
    administrator = get_user_model().objects.create_superuser(username="root", password=PASSWORD)
    newcomer = get_user_model().objects.create_user(username="newcomer", password=PASSWORD, is_staff=True)
    grant = role_grant_request(user=newcomer, role=Role.AUDITOR, requested_by=administrator, reason="Audit.")
    grant = role_grant_approve(grant=grant, approver=risk, password=PASSWORD)
    grant = role_grant_revocation_request(grant=grant, requested_by=administrator, reason="Audit done.")
    grant = role_grant_revocation_approve(grant=grant, approver=compliance, password=PASSWORD)
    old_hand = get_user_model().objects.create_user(username="old-hand", password=PASSWORD, is_staff=True)
    RoleGrant.objects.create(
        user=old_hand,
        role=Role.LEGAL_REVIEWER,
        state=RoleGrantState.APPROVED,
        basis=RoleGrantBasis.BEFORE_GOVERNANCE,
        reason="Before.",
    )  # as the upgrade's migration records it: no decision time
    before, during, after = grant.decided_at - SECOND, grant.decided_at, grant.revoked_at + SECOND

    held = role_holders_at([before, during, after])

    assert [held[moment][Role.AUDITOR.value] for moment in (before, during, after)] == [(), ("newcomer",), ()]
    assert held[before][Role.LEGAL_REVIEWER.value] == ("old-hand",)
    assert held[before][Role.RISK_OFFICER.value] == ()  # the persona's grant was recorded later
    assert grant.state == RoleGrantState.REVOKED


def test_the_pack_lists_the_role_holders_at_its_signatures(promoted, tmp_path) -> None:
    data = collect(use_case=promoted.use_case, model_version=promoted)
    assert data.role_holdings
    assert sum(holding.signature_count for holding in data.role_holdings) >= 5
    first = dict(data.role_holdings[0].holders)
    assert set(first) == set(Role.values)

    output = tmp_path / "pack.pdf"
    call_command("build_evidence_pack", "--model-version", promoted.identifier, "--output", str(output))
    pages = " ".join(text(output.read_bytes()).split())

    assert "Role holders at the time of the signatures" in pages
    for role, names in first.items():
        assert f"{role} {', '.join(names) or 'nobody'}" in pages
