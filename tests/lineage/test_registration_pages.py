"""Registering source systems, datasets and dataset versions in the admin: the add pages call the services, the
right role succeeds and leaves its ledger entry, any other role gets 403, bad input a form error and no row."""

import pytest
from django.test import Client
from django.urls import reverse

from accounts.choices import Role
from audit.audit_context import acting_as
from audit.choices import LedgerAction
from audit.models import LedgerEntry
from lineage.choices import DatasetVersionState
from lineage.models import Dataset, DatasetVersion, LineageEdge, LineageTemplate, SourceSystem
from tests.lineage.conftest import digest, ledger_of, new_version
from tests.signing_in import login_verified

pytestmark = pytest.mark.django_db

SOURCE_ADD = reverse("admin:lineage_sourcesystem_add")
DATASET_ADD = reverse("admin:lineage_dataset_add")
VERSION_ADD = reverse("admin:lineage_datasetversion_add")


def person(request: pytest.FixtureRequest, user_in_role, role: Role | None):
    """Someone in ``role``; ``None`` is an administrator who holds no role (administering is not authoring)."""
    if role is None:
        return request.getfixturevalue("admin_user")
    return user_in_role(role, username=f"someone-{role.value.lower().replace(' ', '-')}")


def source_form(owner, **fields) -> dict:
    return {
        "name": "Zendesk",
        "kind": "ticketing",
        "owner": owner.pk,
        "default_retention_days": "730",
        "data_categories": ["communications", "contact"],
        "description": "Support tickets.",
        **fields,
    }


def version_form(dataset, **fields) -> dict:
    return {
        "dataset": dataset.pk,
        "content_digest": digest(),
        "row_count": "12000",
        "size_bytes": "4800000",
        "storage_uri": "s3://training-data/support-chats/extract.parquet",
        "sampling_method": "",
        "filters": "",
        "template": "",
        "parents": "",
        **fields,
    }


def last_denial() -> LedgerEntry | None:
    return LedgerEntry.objects.filter(action=LedgerAction.DENIED).order_by("sequence").last()


# --- Source systems ------------------------------------------------------------------------------------------


def test_a_data_steward_registers_a_source_system_through_the_add_page(client: Client, steward) -> None:
    login_verified(client, steward)

    page = client.get(reverse("admin:lineage_sourcesystem_changelist")).content.decode()
    form = client.get(SOURCE_ADD)
    response = client.post(SOURCE_ADD, source_form(steward))

    assert SOURCE_ADD in page
    assert form.status_code == 200
    source = SourceSystem.objects.get()
    assert response.status_code == 302
    assert response.url == reverse("admin:lineage_sourcesystem_change", args=[source.pk])
    assert (source.name, source.owner, source.data_categories) == ("Zendesk", steward, ["communications", "contact"])
    [created] = ledger_of(source)
    assert (created.action, created.actor) == (LedgerAction.CREATE, steward)
    assert created.payload["after"]["default_retention_days"] == 730


@pytest.mark.parametrize("role", [Role.ML_ENGINEER, Role.LEGAL_REVIEWER, None], ids=["engineer", "legal", "admin"])
def test_only_a_data_steward_may_register_a_source_system(request, client: Client, user_in_role, steward, role) -> None:
    someone = person(request, user_in_role, role)
    login_verified(client, someone)

    page = client.get(reverse("admin:lineage_sourcesystem_changelist")).content.decode()
    shown = client.get(SOURCE_ADD)
    posted = client.post(SOURCE_ADD, source_form(steward))

    assert SOURCE_ADD not in page
    assert (shown.status_code, posted.status_code) == (403, 403)
    assert not SourceSystem.objects.exists()
    denial = last_denial()
    assert (denial.actor, denial.payload["attempted"]) == (someone, "add source system")


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"default_retention_days": "-1"}, "default_retention_days", "greater than or equal to 0"),
        ({"default_retention_days": "ninety"}, "default_retention_days", "Enter a whole number"),
        ({"data_categories": ["contact", "shoe_size"]}, "data_categories", "shoe_size is not one of"),
        ({"name": "x" * 201}, "name", "at most 200 characters"),
        ({"name": ""}, "name", "This field is required"),
    ],
    ids=["negative", "not-a-number", "unknown-category", "oversized-name", "missing-name"],
)
def test_a_malformed_source_system_is_a_form_error_and_nothing_is_saved(
    client: Client, steward, fields, field, message
) -> None:
    login_verified(client, steward)
    entries = LedgerEntry.objects.count()

    response = client.post(SOURCE_ADD, source_form(steward, **fields))

    assert response.status_code == 400
    assert message in " ".join(response.context["form"].errors[field])
    assert "Support tickets." in response.content.decode()  # what was typed is kept
    assert not SourceSystem.objects.exists()
    assert LedgerEntry.objects.count() == entries


def test_a_second_source_system_of_the_same_name_is_refused_on_the_form(client: Client, steward, crm) -> None:
    login_verified(client, steward)

    response = client.post(SOURCE_ADD, source_form(steward, name="CRM"))

    assert response.status_code == 400
    assert "already exists" in " ".join(response.context["form"].errors["name"])
    assert SourceSystem.objects.count() == 1


# --- Datasets ------------------------------------------------------------------------------------------------


def test_a_data_steward_registers_a_dataset_and_finds_the_register_version_button(client: Client, steward) -> None:
    login_verified(client, steward)

    response = client.post(
        DATASET_ADD, {"slug": "support-chats", "name": "Support chats", "steward": steward.pk, "description": ""}
    )

    dataset = Dataset.objects.get()
    assert response.status_code == 302
    assert (dataset.slug, dataset.steward) == ("support-chats", steward)
    [created] = ledger_of(dataset)
    assert (created.action, created.actor, created.payload["after"]["slug"]) == (
        LedgerAction.CREATE,
        steward,
        "support-chats",
    )
    page = client.get(response.url).content.decode()
    assert f"{VERSION_ADD}?dataset={dataset.pk}" in page


@pytest.mark.parametrize("role", [Role.ML_ENGINEER, Role.LEGAL_REVIEWER, None], ids=["engineer", "legal", "admin"])
def test_only_a_data_steward_may_register_a_dataset(request, client: Client, user_in_role, steward, role) -> None:
    login_verified(client, person(request, user_in_role, role))

    response = client.post(DATASET_ADD, {"slug": "support-chats", "name": "Support chats", "steward": steward.pk})

    assert response.status_code == 403
    assert not Dataset.objects.exists()


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"slug": "support chats!"}, "slug", "valid “slug”"),
        ({"slug": "support-chats"}, "slug", "already exists"),
        ({"steward": "999999"}, "steward", "Select a valid choice"),
        ({"name": "n" * 201}, "name", "at most 200 characters"),
    ],
    ids=["bad-slug", "duplicate-slug", "unknown-steward", "oversized-name"],
)
def test_a_malformed_dataset_is_a_form_error_and_nothing_is_saved(
    client: Client, steward, support_chats, fields, field, message
) -> None:
    login_verified(client, steward)
    entries = LedgerEntry.objects.count()

    response = client.post(DATASET_ADD, {"slug": "new-data", "name": "New data", "steward": steward.pk, **fields})

    assert response.status_code == 400
    assert message in " ".join(response.context["form"].errors[field])
    assert Dataset.objects.count() == 1
    assert LedgerEntry.objects.count() == entries


# --- Dataset versions ----------------------------------------------------------------------------------------


@pytest.fixture
def template(steward) -> LineageTemplate:
    with acting_as(steward):
        return LineageTemplate.objects.create(
            name="Support-chat extraction",
            defaults={"sensitivity": "confidential", "retention_days": 365, "filters": "closed tickets only"},
        )


@pytest.mark.parametrize("role", [Role.DATA_STEWARD, Role.ML_ENGINEER], ids=["steward", "engineer"])
def test_a_version_is_registered_as_a_draft_from_a_template_with_its_parents(
    client: Client, user_in_role, steward, support_chats, redacted_chats, template, role
) -> None:
    author = steward if role == Role.DATA_STEWARD else user_in_role(role, username="ml")
    parent = new_version(support_chats, steward)
    login_verified(client, author)

    form = client.get(f"{VERSION_ADD}?dataset={redacted_chats.pk}").content.decode()
    response = client.post(
        VERSION_ADD,
        version_form(redacted_chats, template=template.pk, parents=f" {parent.identifier} ", sampling_method="all"),
    )

    version = DatasetVersion.objects.get(dataset=redacted_chats)
    assert f'<option value="{redacted_chats.pk}" selected>' in form
    assert response.status_code == 302
    assert response.url == reverse("admin:lineage_datasetversion_change", args=[version.pk])
    assert (version.state, version.number, version.created_by) == (DatasetVersionState.DRAFT, 1, author)
    assert (version.sampling_method, version.filters) == ("all", "closed tickets only")
    assert (version.lineage.sensitivity, version.lineage.retention_days) == ("confidential", 365)
    assert list(LineageEdge.objects.values_list("parent", "child")) == [(parent.pk, version.pk)]
    entries = ledger_of(version)
    assert (entries[0].action, entries[0].actor) == (LedgerAction.CREATE, author)
    assert entries[-1].payload["derived_from"] == {"before": None, "after": parent.identifier}


@pytest.mark.parametrize(
    "role", [Role.LEGAL_REVIEWER, Role.AUDITOR, Role.RISK_OFFICER, None], ids=["legal", "auditor", "risk", "admin"]
)
def test_a_role_that_does_not_author_lineage_cannot_register_a_version(
    request, client: Client, user_in_role, support_chats, role
) -> None:
    login_verified(client, person(request, user_in_role, role))

    page = client.get(reverse("admin:lineage_datasetversion_changelist")).content.decode()
    dataset_page = client.get(reverse("admin:lineage_dataset_change", args=[support_chats.pk])).content.decode()
    response = client.post(VERSION_ADD, version_form(support_chats))

    assert VERSION_ADD not in page + dataset_page
    assert response.status_code == 403
    assert not DatasetVersion.objects.exists()


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"content_digest": "sha256:abc"}, "content_digest", "64 lowercase hexadecimal digits"),
        ({"content_digest": digest("x").upper()}, "content_digest", "64 lowercase hexadecimal digits"),
        ({"row_count": "-5"}, "row_count", "greater than or equal to 0"),
        ({"size_bytes": "9" * 30}, "size_bytes", "less than or equal to"),
        ({"storage_uri": "s3://" + "x" * 1000}, "storage_uri", "at most 1000 characters"),
        ({"parents": "support-chats@99"}, "parents", "No such dataset version: support-chats@99."),
        ({"parents": "support-chats"}, "parents", "Give each version as dataset@number"),
        ({"parents": ", ".join(f"support-chats@{n}" for n in range(1, 30))}, "parents", "at most 20 versions"),
        ({"template": "999999"}, "template", "Select a valid choice"),
    ],
    ids=[
        "prefixed-digest",
        "uppercase-digest",
        "negative-rows",
        "oversized-size",
        "oversized-uri",
        "unknown-parent",
        "malformed-parent",
        "too-many-parents",
        "unknown-template",
    ],
)
def test_a_malformed_version_is_a_form_error_and_nothing_is_saved(
    client: Client, engineer, support_chats, fields, field, message
) -> None:
    login_verified(client, engineer)
    entries = LedgerEntry.objects.count()

    response = client.post(VERSION_ADD, version_form(support_chats, **fields))

    assert response.status_code == 400
    assert message in " ".join(response.context["form"].errors[field])
    assert not DatasetVersion.objects.exists()
    assert LedgerEntry.objects.count() == entries


def test_the_add_pages_cost_a_bounded_number_of_queries(
    client: Client, steward, support_chats, template, django_assert_max_num_queries
) -> None:
    login_verified(client, steward)

    for url in (SOURCE_ADD, DATASET_ADD, f"{VERSION_ADD}?dataset={support_chats.pk}"):
        with django_assert_max_num_queries(9):  # 9 with the second-factor device of the session
            assert client.get(url).status_code == 200
