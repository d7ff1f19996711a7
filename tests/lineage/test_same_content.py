"""A dataset has one version per content: registering a content digest the dataset already has a version of is
refused by the service, naming that version, whether it comes from the admin, the API or a command; the database
refuses it too."""

import pytest
from django.core.exceptions import ValidationError
from django.test import Client

from audit.models import LedgerEntry
from lineage.models import DatasetVersion
from lineage.services import dataset_create, dataset_version_submit
from tests.lineage.conftest import digest, new_version, sourced_version
from tests.lineage.test_registration_pages import VERSION_ADD, version_form
from tests.signing_in import login_verified

pytestmark = pytest.mark.django_db


def test_a_second_version_of_the_same_content_is_refused_naming_the_first(engineer, support_chats) -> None:
    content = digest("chats-export-2024-06")
    first = new_version(support_chats, engineer, content_digest=content)
    entries = LedgerEntry.objects.count()

    with pytest.raises(ValidationError) as raised:
        new_version(support_chats, engineer, content_digest=content)

    [message] = raised.value.message_dict["content_digest"]
    assert "support-chats@1 already has this content" in message
    assert content in message
    assert list(DatasetVersion.objects.values_list("pk", flat=True)) == [first.pk]
    assert LedgerEntry.objects.count() == entries


def test_the_same_content_is_refused_whatever_state_its_first_version_is_in(engineer, support_chats, crm) -> None:
    content = digest("submitted-export")
    submitted = sourced_version(support_chats, engineer, crm, content_digest=content)
    dataset_version_submit(version=submitted, actor=engineer)
    new_version(support_chats, engineer)  # other content: support-chats@2

    with pytest.raises(ValidationError, match="support-chats@1 already has this content"):
        new_version(support_chats, engineer, content_digest=content)
    assert DatasetVersion.objects.count() == 2


def test_another_dataset_may_hold_the_same_content(engineer, steward, support_chats) -> None:
    other = dataset_create(actor=steward, slug="support-chats-eu", name="Support chats (EU)", steward=steward)
    content = digest("shared-export")
    new_version(support_chats, engineer, content_digest=content)

    copy = new_version(other, engineer, content_digest=content)

    assert copy.identifier == "support-chats-eu@1"


def test_the_register_page_shows_the_refusal_on_the_digest(client: Client, engineer, support_chats) -> None:
    login_verified(client, engineer)
    content = digest("page-export")
    assert client.post(VERSION_ADD, version_form(support_chats, content_digest=content)).status_code == 302

    response = client.post(VERSION_ADD, version_form(support_chats, content_digest=content))

    assert response.status_code == 400
    assert "support-chats@1 already has this content" in " ".join(response.context["form"].errors["content_digest"])
    assert DatasetVersion.objects.count() == 1
