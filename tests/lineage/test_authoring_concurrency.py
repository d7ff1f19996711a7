"""Two people pressing the same button at once on real concurrent PostgreSQL sessions: exactly one of them
changes the record, the other is told why not, and the ledger holds one change."""

import pytest
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse

from audit.choices import LedgerAction
from lineage.choices import DatasetVersionState
from lineage.models import Dataset, DatasetVersion
from tests import services
from tests.concurrency import run_at_once
from tests.lineage.conftest import digest, ledger_of, new_version, sourced_version
from tests.signing_in import login_verified

pytestmark = [services.postgres_race, pytest.mark.django_db(transaction=True)]


def signed_in(user) -> Client:
    client = Client()
    login_verified(client, user)
    return client


def test_two_authors_submitting_the_same_draft_at_once_submit_it_once(
    steward, engineer, legal, support_chats, crm
) -> None:
    version = sourced_version(support_chats, engineer, crm)
    url = reverse("admin:lineage_datasetversion_submit", args=[version.pk])
    clients = [signed_in(engineer), signed_in(steward)]

    posts = (lambda client=client: client.post(url, follow=True).content.decode() for client in clients)
    pages = [outcome.get() for outcome in run_at_once(*posts)]

    submitted = [page for page in pages if f"Submitted {version} for Legal review" in page]
    refused = [page for page in pages if "Support-chats@1 is legal review; only a draft can change." in page]
    assert (len(submitted), len(refused)) == (1, 1)
    version = DatasetVersion.objects.get(pk=version.pk)
    assert version.state == DatasetVersionState.LEGAL_REVIEW
    entries = ledger_of(version)
    assert len([entry for entry in entries if entry.action == LedgerAction.TRANSITION]) == 1
    [denial] = [entry for entry in entries if entry.action == LedgerAction.DENIED]
    assert denial.payload["attempted"] == "dataset_version_submit"
    assert denial.actor != version.submitted_by


def test_two_stewards_registering_the_same_dataset_at_once_register_it_once(steward, user_in_role) -> None:
    from accounts.choices import Role

    other = user_in_role(Role.DATA_STEWARD, username="steward-2")
    url = reverse("admin:lineage_dataset_add")
    form = {"slug": "support-chats", "name": "Support chats", "steward": steward.pk, "description": ""}
    clients = [signed_in(steward), signed_in(other)]

    posts = (lambda client=client: client.post(url, form) for client in clients)
    responses = [outcome.get() for outcome in run_at_once(*posts)]

    assert sorted(response.status_code for response in responses) in ([302, 400], [302, 409])
    [refused] = [response for response in responses if response.status_code != 302]
    assert refused.context["form"].errors
    dataset = Dataset.objects.get()
    assert len([entry for entry in ledger_of(dataset) if entry.action == LedgerAction.CREATE]) == 1


def test_two_pipelines_registering_the_same_content_at_once_make_one_version(engineer, support_chats) -> None:
    content = digest("nightly-export")

    outcomes = run_at_once(*(lambda: new_version(support_chats, engineer, content_digest=content) for _ in range(2)))

    refused = [outcome for outcome in outcomes if outcome.refused(ValidationError)]
    [made] = [outcome.get() for outcome in outcomes if outcome not in refused]
    assert len(refused) == 1
    assert f"{made.identifier} already has this content" in str(refused[0].error)
    assert list(DatasetVersion.objects.values_list("content_digest", flat=True)) == [content]
