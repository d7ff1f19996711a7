"""Product owners write a model version's card in the browser; each save is a new revision."""

import pytest
from django.urls import reverse

from audit.models import LedgerEntry
from registry.models import ModelCard
from tests.signing_in import login_verified

pytestmark = pytest.mark.django_db

SECTIONS = {
    "intended_use": "Billing questions of retail customers.",
    "out_of_scope_use": "Credit decisions.",
    "known_risks": "Card fragments; mitigated by redaction.",
    "escalation_paths": "Human agent on request.",
    "regulatory_considerations": "PCI DSS 3.3.",
}


def test_a_product_owner_writes_the_card_and_a_second_save_is_a_new_revision(world, client):
    model = world.model()
    url = reverse("admin:registry_modelversion_card", args=[model.pk])
    login_verified(client, world["product"])
    page = client.get(reverse("admin:registry_modelversion_change", args=[model.pk])).content.decode()
    assert url in page

    assert client.post(url, SECTIONS).status_code == 302
    card = ModelCard.objects.get(model_version=model)
    assert card.missing_sections() == []
    assert card.generated["model_details"]["identifier"] == model.identifier
    assert LedgerEntry.objects.filter(object_type="registry.modelcard", object_id=str(card.pk)).exists()

    assert "Billing questions of retail customers." in client.get(url).content.decode()  # pre-filled
    assert client.post(url, {**SECTIONS, "escalation_paths": ""}).status_code == 302
    latest = model.cards.order_by("-revision").first()
    assert (latest.revision, latest.missing_sections()) == (2, ["escalation paths"])
    assert latest.changes["escalation_paths"] == {"before": "Human agent on request.", "after": ""}


def test_oversized_sections_are_refused_and_nothing_is_saved(world, client):
    model = world.model()
    login_verified(client, world["product"])
    response = client.post(
        reverse("admin:registry_modelversion_card", args=[model.pk]), {**SECTIONS, "known_risks": "x" * 10_001}
    )
    assert response.status_code == 400
    assert "under 10000 characters" in response.content.decode()
    assert not ModelCard.objects.exists()


@pytest.mark.parametrize("username", ["legal", "auditor", "admin", "cab"])
def test_only_product_owners_and_engineers_write_cards(world, client, username):
    model = world.model()
    login_verified(client, world[username])
    assert client.post(reverse("admin:registry_modelversion_card", args=[model.pk]), SECTIONS).status_code == 403
    assert not ModelCard.objects.exists()
