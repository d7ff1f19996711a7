"""A model version's admin page links to its evidence for the people who may see evidence packs."""

import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("username", "linked"), [("auditor", True), ("risk", True), ("legal", False), ("admin", False)]
)
def test_the_model_version_page_links_to_its_evidence(world, client, username, linked):
    model = world.model()
    client.force_login(world[username])
    page = client.get(reverse("admin:registry_modelversion_change", args=[model.pk]))
    evidence = reverse("admin:evidence_evidencepack_model_version", args=[model.pk])
    assert (evidence in page.content.decode()) is linked
