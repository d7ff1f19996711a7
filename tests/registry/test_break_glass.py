"""Break glass in the registry: an emergency promotion or rollback past a blocking gate needs a written
justification and a second person's signed override; the deployment event carries it; a refused attempt leaves
no override behind."""

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from audit.choices import LedgerAction
from audit.ledger import ActionDenied
from audit.models import LedgerEntry
from governance.choices import EvaluationDimension
from governance.models import BreakGlassOverride
from lineage.services import dataset_version_revoke
from registry.choices import ChangeTicketState, Environment
from registry.errors import GateBlocked
from registry.models import ChangeTicket, Deployment
from registry.services.emergency import change_ticket_deploy_break_glass, deployment_rollback_break_glass
from tests.registry.conftest import PASSWORD, version
from tests.registry.pages import prod_with_previous, staged
from tests.signing_in import login_verified

pytestmark = pytest.mark.django_db

JUSTIFICATION = "Regulator-mandated disclosure must be live tonight; the failing safety case is a known false positive."


def blocked_prod_ticket(world) -> ChangeTicket:
    """An approved prod ticket that cannot deploy: the gate was evaluated again and failed."""
    model = staged(world)
    ticket = world.sign_all(world.ticket(model, Environment.PROD))
    world.gate(model, rates={EvaluationDimension.SAFETY: (80, 100)})
    ticket.refresh_from_db()
    return ticket


def emergency_deploy(world, ticket, **overrides):
    values = {
        "ticket": ticket,
        "actor": world["mleng"],
        "justification": JUSTIFICATION,
        "approver_username": "risk2",
        "approver_password": PASSWORD,
        **overrides,
    }
    return change_ticket_deploy_break_glass(**values)


def test_an_emergency_promotion_goes_live_on_a_signed_override_and_the_deployment_carries_it(world):
    ticket = emergency_deploy(world, blocked_prod_ticket(world))

    assert ticket.state == ChangeTicketState.DEPLOYED
    event = Deployment.objects.get(environment=Environment.PROD).events.get()
    override = event.override
    assert (override.gate, override.requested_by, override.approved_by) == ("promotion", world["mleng"], world["risk2"])
    assert LedgerEntry.objects.filter(action=LedgerAction.OVERRIDE, object_id=str(ticket.pk)).exists()


@pytest.mark.parametrize(
    ("overrides", "error"),
    [
        ({"approver_password": "wrong"}, ActionDenied),  # the second person does not re-authenticate
        ({"approver_username": "cab"}, ActionDenied),  # not a Risk Officer
        ({"approver_username": "nobody"}, ValidationError),
        ({"justification": "urgent"}, ValidationError),  # too short to be a justification
    ],
)
def test_a_refused_override_leaves_nothing_behind(world, overrides, error):
    ticket = blocked_prod_ticket(world)
    with pytest.raises(error):
        emergency_deploy(world, ticket, **overrides)
    ticket.refresh_from_db()
    assert ticket.state == ChangeTicketState.APPROVED
    assert not BreakGlassOverride.objects.exists()
    assert not Deployment.objects.filter(environment=Environment.PROD).exists()


def test_nobody_overrides_their_own_request(world):
    ticket = blocked_prod_ticket(world)
    with pytest.raises(ActionDenied, match="second person"):
        emergency_deploy(world, ticket, approver_username="risk", actor=world["risk"])


def test_break_glass_does_not_stand_in_for_the_approvals(world):
    model = staged(world)
    ticket = world.ticket(model, Environment.PROD)  # submitted, nobody signed
    with pytest.raises(GateBlocked):
        emergency_deploy(world, ticket)
    assert not BreakGlassOverride.objects.exists()


def test_an_emergency_rollback_onto_revoked_data_needs_the_second_person(world):
    prod = prod_with_previous(world)
    dataset_version_revoke(version=version("support-chats@1"), actor=world["compliance"], reason="Erasure request")
    event = deployment_rollback_break_glass(
        deployment=prod,
        actor=world["risk"],
        reason="Card data leak in the current version",
        justification="The current version leaks card data; the previous one is the lesser harm until the fix.",
        approver_username="risk2",
        approver_password=PASSWORD,
    )
    assert event.override.gate == "rollback"
    assert event.incident is not None


def test_the_ticket_page_offers_break_glass_to_the_deployer_and_deploys_through_it(world, client):
    ticket = blocked_prod_ticket(world)
    page = reverse("admin:registry_changeticket_change", args=[ticket.pk])
    url = reverse("admin:registry_changeticket_deploy_break_glass", args=[ticket.pk])
    login_verified(client, world["mleng"])
    assert url in client.get(page).content.decode()

    refused = client.post(url, {"justification": JUSTIFICATION, "approver": "risk2", "approver_password": "wrong"})
    assert refused.status_code == 409
    assert "Re-authentication failed" in refused.content.decode()
    assert not BreakGlassOverride.objects.exists()

    done = client.post(url, {"justification": JUSTIFICATION, "approver": "risk2", "approver_password": PASSWORD})
    assert done.status_code == 302
    ticket.refresh_from_db()
    assert ticket.state == ChangeTicketState.DEPLOYED

    login_verified(client, world["legal"])
    assert client.post(url, {"justification": JUSTIFICATION}).status_code == 403


def test_the_deployment_page_offers_the_emergency_rollback_only_when_the_plain_one_is_blocked(world, client):
    prod = prod_with_previous(world)
    page = reverse("admin:registry_deployment_change", args=[prod.pk])
    url = reverse("admin:registry_deployment_rollback_break_glass", args=[prod.pk])
    login_verified(client, world["risk"])
    assert url not in client.get(page).content.decode()
    dataset_version_revoke(version=version("support-chats@1"), actor=world["compliance"], reason="Erasure request")
    assert url in client.get(page).content.decode()
    response = client.post(
        url,
        {
            "reason": "Leak",
            "justification": "The current version leaks card data; the previous one is the lesser harm.",
            "approver": "risk2",
            "approver_password": PASSWORD,
        },
    )
    assert response.status_code == 302
    prod.refresh_from_db()
    assert prod.current_version.number == 1


def test_wrong_approver_passwords_count_towards_the_approvers_lockout(world, client, settings):
    """The second person re-authenticates on the break-glass page: guessing their password there is held to the
    same lockout as signing in, and a locked-out approver cannot approve an override even with the right one."""
    settings.AXES_FAILURE_LIMIT = 2
    ticket = blocked_prod_ticket(world)
    url = reverse("admin:registry_changeticket_deploy_break_glass", args=[ticket.pk])
    login_verified(client, world["mleng"])

    def attempt(password: str) -> int:
        data = {"justification": JUSTIFICATION, "approver": "risk2", "approver_password": password}
        return client.post(url, data).status_code

    # The failure that reaches the limit answers with the lockout page, as a sign-in would.
    assert [attempt("wrong"), attempt("wrong")] == [409, 429]
    failures = LedgerEntry.objects.filter(action=LedgerAction.LOGIN_FAILED, object_id=str(world["risk2"].pk))
    assert [entry.payload["step"] for entry in failures] == ["signature", "signature"]

    locked = client.post(url, {"justification": JUSTIFICATION, "approver": "risk2", "approver_password": PASSWORD})
    assert client.get(reverse("admin:index")).status_code == 200  # the requester is not the one locked out
    assert locked.status_code == 409
    assert "locked out" in locked.content.decode()
    assert not BreakGlassOverride.objects.exists()
    ticket.refresh_from_db()
    assert ticket.state == ChangeTicketState.APPROVED
