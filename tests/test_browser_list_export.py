"""User journey in a real browser: an auditor filters a change list and takes the rows away as CSV."""

import csv
import io

import pytest

from audit.choices import AccessKind
from audit.models import AccessEvent
from lineage.choices import DatasetVersionState
from lineage.models import DatasetVersion
from tests.conftest import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_auditor_filters_dataset_versions_and_downloads_exactly_those_rows(live_server, demo_lineage, page) -> None:
    approved = sorted(str(version) for version in DatasetVersion.objects.filter(state=DatasetVersionState.APPROVED))
    assert approved, "the demo organisation has approved dataset versions"
    assert DatasetVersion.objects.exclude(state=DatasetVersionState.APPROVED).exists()

    sign_in(page, live_server.url, "auditor")
    page.goto(f"{live_server.url}/admin/lineage/datasetversion/")
    page.wait_for_selector("#result_list")
    page.locator("#changelist-filter").get_by_role("link", name="Approved for training", exact=True).click()
    page.wait_for_url("**state__exact=approved**")

    with page.expect_download() as download_info:
        page.get_by_role("link", name="Export CSV").click()
    download = download_info.value
    assert download.suggested_filename.startswith("lineage-datasetversion-")
    assert download.suggested_filename.endswith(".csv")
    rows = list(csv.reader(io.StringIO(download.path().read_text())))

    assert rows[0][:2] == ["dataset version", "state"]
    assert sorted(row[0] for row in rows[1:]) == approved
    assert {row[1] for row in rows[1:]} == {"Approved for training"}
    event = AccessEvent.objects.get(kind=AccessKind.EXPORT)
    assert (event.user.username, event.detail["list"], event.detail["rows"]) == (
        "auditor",
        "lineage.datasetversion",
        len(approved),
    )
    assert event.detail["filters"] == {"state__exact": "approved"}
