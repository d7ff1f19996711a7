"""A product owner finds a provenance gap of theirs on the landing page, in a real browser, and the model version's
page shows the checklist with the missing fact and who fills it; a Risk Officer proposes which facts are required."""

import pytest

from tests.conftest import sign_in
from tests.registry import conftest as registry

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

world = registry.world  # the registry tests' world: the demo organisation, a suite, and lifecycle helpers


def test_the_owner_opens_a_gap_from_the_landing_page_and_reads_the_checklist(live_server, world, page) -> None:
    model = world.model()
    world.gate(model)
    world.card(model, regulatory_considerations="")
    sign_in(page, live_server.url, "product")

    page.locator(".portal-desks").get_by_role("link", name=f"{model}: 1 missing (model card section written)").click()

    checklist = page.locator("#provenance-checklist")
    assert "Provenance completeness:" in checklist.locator("h2").inner_text()
    missing = checklist.locator("tr.fact-missing")
    assert missing.count() == 1
    row = missing.first.inner_text()
    assert "model card section written" in row
    assert f"{model} / model card: regulatory considerations" in row
    assert "Product Owner: Priya Okafor" in row
    assert checklist.locator("tr.fact-present").count() > 10


def test_a_risk_officer_proposes_required_facts_and_a_missing_rationale_keeps_what_was_ticked(
    live_server, world, page
) -> None:
    sign_in(page, live_server.url, "risk")
    page.goto(f"{live_server.url}/admin/registry/provenancerequirement/")
    page.get_by_role("link", name="Propose required facts").click()

    assert "Production requires every fact whatever this says." in page.inner_text("#page-intro")
    assert "Provenance requirements" in page.inner_text(".breadcrumbs")
    hardware = page.locator('input[name="staging"][value="run.hardware"]')
    hardware.check()
    page.get_by_role("button", name="Propose").click()
    assert "Please correct the errors below; nothing was saved." in page.inner_text("#content-main")
    assert hardware.is_checked()

    page.fill("#id_rationale", "Staging runs must be reproducible on the same hardware.")
    page.get_by_role("button", name="Propose").click()
    assert "proposed; a second Risk Officer approves it." in page.inner_text(".messagelist")
    assert "/change/" in page.url
    page.locator(".breadcrumbs").get_by_role("link", name="Provenance requirements").click()
    page.get_by_role("link", name="Propose required facts").click()
    page.get_by_role("link", name="Cancel").click()
    assert page.url.endswith("/admin/registry/provenancerequirement/")
