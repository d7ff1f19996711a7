"""A change ticket's external reference links into the configured ticketing tool, and only into it."""

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.urls import reverse

from portal.env import env_https_base_url
from registry.choices import Environment
from registry.services.deployments import deployment_deploy_dev
from registry.ticketing import ticket_url
from tests.registry.conftest import world  # noqa: F401
from tests.signing_in import login_verified


def test_a_jira_key_links_to_its_issue(settings) -> None:
    settings.JIRA_BASE_URL = "https://example.atlassian.net"
    assert ticket_url("MLOPS-123") == "https://example.atlassian.net/browse/MLOPS-123"


def test_a_servicenow_change_links_to_its_change_request(settings) -> None:
    settings.SERVICENOW_BASE_URL = "https://example.service-now.com"
    assert ticket_url("CHG0031337") == (
        "https://example.service-now.com/change_request.do?sysparm_query=number%3DCHG0031337"
    )


def test_without_a_configured_tool_a_reference_is_not_a_link(settings) -> None:
    settings.JIRA_BASE_URL = ""
    settings.SERVICENOW_BASE_URL = "https://example.service-now.com"
    assert ticket_url("MLOPS-123") == ""
    assert ticket_url("") == ""


@pytest.mark.parametrize(
    "value",
    [
        "http://example.atlassian.net",
        "example.atlassian.net",
        "https://example.atlassian.net/?next=https://evil.example",
        "https://user:secret@example.atlassian.net",
        "javascript:alert(1)",
    ],
)
def test_a_base_url_that_is_not_plain_https_stops_the_start(monkeypatch, value: str) -> None:
    monkeypatch.setenv("JIRA_BASE_URL", value)
    with pytest.raises(ImproperlyConfigured, match="JIRA_BASE_URL"):
        env_https_base_url("JIRA_BASE_URL")


def test_a_trailing_slash_is_dropped(monkeypatch) -> None:
    monkeypatch.setenv("JIRA_BASE_URL", "https://jira.example.com/jira/")
    assert env_https_base_url("JIRA_BASE_URL") == "https://jira.example.com/jira"


@pytest.mark.django_db
def test_the_ticket_page_and_list_link_to_the_ticketing_tool(client, settings, world) -> None:  # noqa: F811
    settings.JIRA_BASE_URL = "https://example.atlassian.net"
    model_version = world.model()
    deployment_deploy_dev(model_version=model_version, actor=world["mleng"])
    ticket = world.ticket(model_version, Environment.TEST)
    link = 'href="https://example.atlassian.net/browse/MLOPS-42" rel="noopener noreferrer"'

    login_verified(client, world["cab"])
    page = client.get(reverse("admin:registry_changeticket_change", args=[ticket.pk]))
    listing = client.get(reverse("admin:registry_changeticket_changelist"))

    assert page.status_code == 200
    assert link in page.content.decode()
    assert link in listing.content.decode()
