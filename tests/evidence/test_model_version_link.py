"""A model version's admin page links to its evidence for the people who may see evidence packs."""

import pytest
from django.urls import reverse

from tests.signing_in import login_verified

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("username", "linked"), [("auditor", True), ("risk", True), ("legal", False), ("admin", False)]
)
def test_the_model_version_page_links_to_its_evidence(world, client, username, linked):
    model = world.model()
    login_verified(client, world[username])
    page = client.get(reverse("admin:registry_modelversion_change", args=[model.pk]))
    evidence = reverse("admin:evidence_evidencepack_model_version", args=[model.pk])
    assert (evidence in page.content.decode()) is linked
