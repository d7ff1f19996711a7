"""Portal roles in a real browser: the administrator cannot give itself a role on the user page and approves
nothing even in a role group; a role is requested by an access administrator and approved by a second person."""

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group

from accounts.choices import Role, RoleGrantState
from accounts.demo import DEFAULT_DEMO_PASSWORD
from accounts.models import RoleGrant
from audit.choices import LedgerAction
from audit.models import LedgerEntry
from governance.choices import RevisionState
from governance.services.thresholds import PLAYBOOK_DEFAULTS, RuleInput, threshold_revision_propose
from tests.conftest import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_the_administrator_cannot_give_itself_a_role_nor_approve_with_one(live_server, demo_organisation, page) -> None:
    risk_group = Group.objects.get(name=Role.RISK_OFFICER.value)
    administrator = demo_organisation["admin"]
    pending = threshold_revision_propose(
        use_case=None,
        actor=demo_organisation["risk"],
        rules={dimension: RuleInput(*values) for dimension, values in PLAYBOOK_DEFAULTS.items()},
        rationale="Raise the organisation's bars.",
    )
    sign_in(page, live_server.url, "admin")

    # The user page shows roles but has no field to change them, nor administrator rights, nor permissions.
    page.goto(f"{live_server.url}/admin/auth/user/{administrator.pk}/change/")
    assert page.locator("select[name=groups]").count() == 0
    assert page.locator("select[name=user_permissions]").count() == 0
    assert page.locator("input[name=is_superuser]").count() == 0
    assert "Request a role" in page.inner_text(".field-portal_roles")

    # A forged post naming the group is refused and recorded; the membership does not change.
    page.evaluate(
        """(groupId) => {
            const input = document.createElement('input');
            input.type = 'hidden'; input.name = 'groups'; input.value = groupId;
            document.querySelector('#user_form').appendChild(input);
        }""",
        str(risk_group.pk),
    )
    page.click("input[name=_save]")
    assert page.inner_text("#refusal-reason")  # the 403 page, saying why
    assert not administrator.groups.filter(pk=risk_group.pk).exists()
    assert LedgerEntry.objects.filter(action=LedgerAction.DENIED, actor=administrator).exists()

    # The request page does not offer the administrator (nobody asks for their own role; it holds none).
    page.goto(f"{live_server.url}/admin/accounts/rolegrant/request/")
    assert page.locator(f"select[name=user] option[value='{administrator.pk}']").count() == 0

    # Even in the group (as the stock user page once allowed), its signature is refused.
    administrator.groups.add(risk_group)
    page.goto(f"{live_server.url}/admin/governance/thresholdpolicy/{pending.pk}/approve/")
    assert page.locator("#id_password").count() == 0
    assert "Only a Risk Officer or a Compliance reviewer" in page.inner_text("#refusal-reason")
    pending.refresh_from_db()
    assert (pending.state, pending.decided_by) == (RevisionState.PENDING, None)


def test_an_access_administrator_requests_a_role_and_a_risk_officer_approves_it(
    live_server, demo_organisation, page
) -> None:
    engineer = demo_organisation["mleng"]
    sign_in(page, live_server.url, "admin")
    page.goto(f"{live_server.url}/admin/auth/user/{engineer.pk}/change/")
    page.click(".request-role-link")
    page.select_option("select[name=role]", Role.DATA_STEWARD.value)
    page.fill("textarea[name=reason]", "Covers data stewardship while Sam is on leave (TICKET-88).")
    page.click("#role-request-form input[type=submit]")
    page.wait_for_selector(".messagelist")
    grant = RoleGrant.objects.get(user=engineer, role=Role.DATA_STEWARD)
    assert grant.state == RoleGrantState.REQUESTED

    page.context.clear_cookies()
    sign_in(page, live_server.url, "risk")
    page.goto(f"{live_server.url}/admin/accounts/rolegrant/{grant.pk}/")
    page.click(".approve-link")
    page.fill("#id_username", "risk")
    page.fill("#id_password", DEFAULT_DEMO_PASSWORD)
    page.click("input[name=_sign]")
    page.wait_for_selector(".messagelist")
    assert "now holds the Data Steward role" in page.inner_text(".messagelist")

    grant.refresh_from_db()
    assert (grant.state, grant.decided_by.username) == (RoleGrantState.APPROVED, "risk")
    assert get_user_model().objects.get(pk=engineer.pk).groups.filter(name=Role.DATA_STEWARD.value).exists()
