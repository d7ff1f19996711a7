"""Landing pages in a real browser: the auditor lands on what auditors do and opens records by their human IDs; an
engineer sees what they proposed and where it waits."""

import pytest

from registry.choices import Environment, IncidentSeverity, IncidentSource
from registry.models import ChangeTicket
from registry.services.incidents import incident_open
from tests.conftest import sign_in
from tests.registry import conftest as registry
from tests.registry.pages import prod_with_previous, staged

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

world = registry.world


def search(page: object, term: str) -> None:
    page.fill("#record-search-q", term)
    page.click("#record-search input[type=submit]")


def test_the_auditor_lands_on_live_versions_the_ledger_and_packs_and_opens_records_by_their_ids(
    live_server, world, page
) -> None:
    deployment = prod_with_previous(world)
    live = deployment.current_version
    ticket = ChangeTicket.objects.get(model_version=live, environment=Environment.PROD)
    incident = incident_open(
        use_case=world.use_case,
        actor=world["risk"],
        title="Card number shown in full",
        description="A customer saw a full card number.",
        severity=IncidentSeverity.values[0],
        source=IncidentSource.values[0],
        model_version=live,
    )
    sign_in(page, live_server.url, "auditor")

    panel = page.inner_text("#panel-registry-live-versions")
    assert live.identifier in panel
    assert f"{ticket.identifier} deployed" in panel
    assert "not been verified" in page.inner_text("#panel-governance-ledger-verification")
    assert "No evidence pack" in page.inner_text("#panel-evidence-recent-packs")

    search(page, live.identifier)
    page.wait_for_url(f"**/admin/registry/modelversion/{live.pk}/change/")
    page.goto(f"{live_server.url}/admin/")
    search(page, "support-chats@1")
    page.wait_for_url("**/admin/lineage/datasetversion/*/change/")
    assert "support-chats@1" in page.inner_text("#content")
    page.goto(f"{live_server.url}/admin/")
    search(page, ticket.identifier.lower())
    page.wait_for_url(f"**/admin/registry/changeticket/{ticket.pk}/change/")
    page.goto(f"{live_server.url}/admin/")
    search(page, incident.identifier)
    page.wait_for_url(f"**/admin/registry/incident/{incident.pk}/change/")

    page.goto(f"{live_server.url}/admin/")
    search(page, "support-assistant:999")
    assert "No model version, dataset version, change ticket or incident is called" in page.inner_text("#nothing-found")


def test_an_engineer_sees_what_they_proposed_and_where_it_waits(live_server, world, page) -> None:
    waiting = world.ticket(staged(world), Environment.PROD)
    sign_in(page, live_server.url, "mleng")

    tickets = page.inner_text("#panel-registry-tickets-requested")
    assert str(waiting) in tickets
    assert "Waits for the signatures of" in tickets
    versions = page.inner_text("#panel-lineage-versions-proposed")
    assert "Dataset version" in versions
    assert page.locator("#panel-registry-live-versions").count() == 0  # an auditor's panel, not an engineer's
