"""User journey in a real browser: an auditor browses the audit ledger, filters it and exports a slice."""

import json

import pytest

from accounts.demo import DEFAULT_DEMO_PASSWORD
from audit import ledger
from audit.choices import LedgerAction
from audit.models import LedgerEntry
from tests.signing_in import second_factor_code

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_auditor_filters_the_ledger_opens_an_entry_and_exports_the_slice(live_server, demo_users, page) -> None:
    ledger.append(action=LedgerAction.DOWNLOAD, object_label="support-assistant:7 evidence pack", actor_name="t")
    ledger.append(action=LedgerAction.EXPORT, object_label="support-chats@3 lineage", actor_name="t")

    page.goto(f"{live_server.url}/admin/")
    page.fill("#id_username", "auditor")
    page.fill("#id_password", DEFAULT_DEMO_PASSWORD)
    code = second_factor_code(demo_users["auditor"])
    page.click("input[type=submit]")
    page.fill("#id_code", code)
    page.click("#second-factor-form input[type=submit]")
    page.get_by_role("link", name="Audit ledger", exact=True).click()
    page.wait_for_selector("#result_list")
    page.locator("#changelist-filter").get_by_role("link", name="Download", exact=True).click()
    page.wait_for_url("**action__exact=download**")

    rows = page.locator("#result_list tbody tr")
    assert rows.count() == 1
    assert "support-assistant:7 evidence pack" in rows.first.inner_text()

    rows.first.locator("th a").click()
    page.wait_for_selector("text=entry hash")
    assert "support-assistant:7 evidence pack" in page.inner_text("#content")

    page.go_back()
    page.wait_for_selector("#result_list")
    with page.expect_download() as download_info:
        page.get_by_role("link", name="Export JSON Lines").click()
    lines = download_info.value.path().read_text().splitlines()
    assert [json.loads(line)["entry"]["action"] for line in lines] == ["download"]
    export = LedgerEntry.objects.order_by("-sequence").first()
    assert (export.action, export.actor.username) == (LedgerAction.EXPORT, "auditor")
