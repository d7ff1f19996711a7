"""The training-run list says where runs come from: the pipeline API, OpenLineage and MLflow."""

import pytest
from django.test import Client
from django.urls import reverse

from accounts.choices import Role
from tests.signing_in import login_verified

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("role", [Role.ML_ENGINEER, Role.AUDITOR])
def test_the_list_names_the_three_ways_in_and_links_the_api_documentation(
    client: Client, user_in_role, role: Role
) -> None:
    login_verified(client, user_in_role(role))

    page = client.get(reverse("admin:registry_trainingrun_changelist")).content.decode()

    assert 'id="pipeline-ways-in"' in page
    assert f'href="{reverse("api-docs")}"' in page
    for way_in in ("POST /api/v1/training-runs", "POST /api/v1/lineage", "manage.py import_mlflow"):
        assert way_in in page
