"""The admin is the product's home; its index is a role-aware landing page."""

import re
from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.choices import Role
from accounts.roles import ROLE_DUTIES
from governance.worklist import WorkItem, WorkQueue, _registry, register_queue
from tests.conftest import give_role
from tests.signing_in import login_verified

pytestmark = pytest.mark.django_db


def test_anonymous_visitor_is_sent_to_the_login_page(client: Client) -> None:
    response = client.get(reverse("admin:index"))

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("admin:login"))


def test_site_root_leads_to_the_portal(client: Client) -> None:
    response = client.get("/")

    assert response.status_code == 302
    assert response["Location"] == reverse("admin:index")


def test_login_page_carries_the_product_name(client: Client) -> None:
    response = client.get(reverse("admin:login"))

    assert "LLM Governance Portal" in response.content.decode()


@pytest.mark.parametrize("role", list(Role))
def test_each_role_sees_its_own_desk_and_no_one_elses(client: Client, user_in_role, role: Role) -> None:
    login_verified(client, user_in_role(role))

    page = client.get(reverse("admin:index")).content.decode()

    assert "What waits for you" in page
    assert f'data-role="{role.value}"' in page
    assert str(ROLE_DUTIES[role]) in page
    for other in set(Role) - {role}:
        assert f'data-role="{other.value}"' not in page


def test_a_user_with_two_roles_sees_both_desks(client: Client, user_in_role) -> None:

    user = user_in_role(Role.RISK_OFFICER)
    give_role(user, Role.CHANGE_ADVISORY_BOARD)
    login_verified(client, user)

    page = client.get(reverse("admin:index")).content.decode()

    assert page.index('data-role="Risk Officer"') < page.index('data-role="Change Advisory Board"')


def test_administrator_without_a_role_is_told_that_administration_is_not_approval(
    client: Client, admin_user: object
) -> None:
    login_verified(client, admin_user)

    page = client.get(reverse("admin:index")).content.decode()

    assert "administrators cannot approve" in page


def test_registered_queues_show_their_items_to_the_roles_they_concern(client: Client, user_in_role) -> None:
    queue = WorkQueue(
        key="test-legal-queue",
        title="Dataset versions at the Legal stage",
        roles=frozenset({Role.LEGAL_REVIEWER}),
        items=lambda user: [WorkItem(label=f"support-chats@3 for {user.username}", url="/admin/")],
    )
    register_queue(queue)
    try:
        login_verified(client, user_in_role(Role.LEGAL_REVIEWER))
        legal_page = client.get(reverse("admin:index")).content.decode()
        login_verified(client, user_in_role(Role.SECURITY_REVIEWER))
        security_page = client.get(reverse("admin:index")).content.decode()
    finally:
        del _registry[queue.key]

    assert "support-chats@3 for legal-reviewer" in legal_page
    assert "Dataset versions at the Legal stage" not in security_page


@pytest.mark.parametrize(
    ("waited", "shown"),
    [(timedelta(seconds=5), r"arrived \d+\xa0seconds ago"), (timedelta(minutes=3), r"arrived 3\xa0minutes ago")],
)
def test_an_item_says_when_it_arrived_never_that_it_waited_zero_minutes(
    client: Client, user_in_role, waited: timedelta, shown: str
) -> None:
    queue = WorkQueue(
        key="test-arrival-queue",
        title="Dataset versions at the Legal stage",
        roles=frozenset({Role.LEGAL_REVIEWER}),
        items=lambda user: [WorkItem(label="support-chats@3", url="/admin/", waiting_since=timezone.now() - waited)],
    )
    register_queue(queue)
    try:
        login_verified(client, user_in_role(Role.LEGAL_REVIEWER))
        page = client.get(reverse("admin:index")).content.decode()
    finally:
        del _registry[queue.key]

    assert re.search(f'<span class="portal-since">{shown}</span>', page)
    assert "0\xa0minutes" not in page


def test_registering_a_different_queue_under_a_taken_key_is_refused() -> None:
    first = WorkQueue(key="dup", title="A", roles=frozenset({Role.AUDITOR}), items=lambda user: [])
    register_queue(first)
    try:
        with pytest.raises(ValueError, match="already registered"):
            register_queue(WorkQueue(key="dup", title="B", roles=frozenset({Role.AUDITOR}), items=lambda user: []))
    finally:
        del _registry["dup"]


def test_landing_page_query_count_does_not_depend_on_roles_held(
    client: Client, user_in_role, django_assert_max_num_queries
) -> None:

    user = user_in_role(Role.AUDITOR)
    for role in Role:
        give_role(user, role)
    login_verified(client, user)

    # session, user, the second-factor device, permissions, roles, whether they may lift lockouts, the
    # ledger-integrity alert, the ledger-state alert (the latest replay of the rows), recent actions, and one or two
    # per queue (each computed once, however many of the user's roles share it), three for the provenance gaps in
    # one's records (dataset versions, runs and model versions of the person), and the landing panels (each shown
    # once, in a fixed number of queries: live versions three, the others one or two)
    with django_assert_max_num_queries(37):
        client.get(reverse("admin:index"))


def test_health_endpoint_reports_database_reachable(client: Client) -> None:
    response = client.get(reverse("healthz"))

    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_health_endpoint_refuses_writes(client: Client) -> None:
    assert client.post(reverse("healthz")).status_code == 405


def test_api_schema_is_served_to_signed_in_users_only(client: Client, user_in_role) -> None:
    assert client.get(reverse("api-schema")).status_code == 403

    login_verified(client, user_in_role(Role.ML_ENGINEER))
    response = client.get(reverse("api-schema"))

    assert response.status_code == 200
    assert b"LLM Governance Portal API" in response.content


def test_the_index_lists_the_product_apps_in_lifecycle_order_before_administration(client: Client, admin_user) -> None:
    login_verified(client, admin_user)

    apps = [app["app_label"] for app in client.get(reverse("admin:index")).context["app_list"]]

    assert apps[:2] == ["governance", "lineage"]
    assert apps.index("lineage") < apps.index("auth")


def test_role_grants_and_access_reviews_wait_on_the_deciders_landing_page(client: Client, user_in_role) -> None:
    """Access work moves only if the people who decide it see it: a requested grant waits for a Risk Officer or a
    Compliance reviewer (not the one it is for), and an open access review for a holder of the role that owns it."""
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Permission

    from accounts.services.access_reviews import access_reviews_open_due
    from accounts.services.role_grants import role_grant_request

    requester = get_user_model().objects.create_user(username="iam", is_staff=True)
    requester.user_permissions.add(Permission.objects.get(codename="request_rolegrant"))
    newcomer = get_user_model().objects.create_user(username="newcomer", is_staff=True, last_name="Novak")
    grant = role_grant_request(user=newcomer, role=Role.AUDITOR, requested_by=requester, reason="Ticket IAM-7")
    access_reviews_open_due()
    compliance = user_in_role(Role.COMPLIANCE_REVIEWER, username="compliance")
    login_verified(client, compliance)

    page = client.get(reverse("admin:index")).content.decode()

    assert "Role grants and removals awaiting your decision" in page
    assert reverse("admin:accounts_rolegrant_approve", args=[grant.pk]) in page
    assert "Access reviews of roles you own" in page
    assert "Access review: Auditor" in page
    assert "Access review: Compliance Reviewer" not in page  # their own role: another owner attests it
    assert "Access review: Risk Officer" in page
