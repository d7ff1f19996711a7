"""An ML engineer opening the training-run list learns that runs come from pipelines, and how, in a real browser."""

import pytest

from tests.conftest import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_the_training_run_list_shows_an_engineer_the_api_openlineage_and_mlflow_ways_in(
    live_server, demo_organisation, page
) -> None:
    sign_in(page, live_server.url, "mleng")

    page.goto(f"{live_server.url}/admin/registry/trainingrun/")

    ways_in = page.inner_text("#pipeline-ways-in")
    assert "Training runs come from your pipelines" in ways_in
    assert "POST /api/v1/training-runs" in ways_in
    assert "POST /api/v1/lineage" in ways_in
    assert "manage.py import_mlflow" in ways_in
    page.get_by_role("link", name="API documentation").click()
    assert page.url.endswith("/api/docs/")
