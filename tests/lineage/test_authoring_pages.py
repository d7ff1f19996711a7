"""A draft version's page: its authors edit the lineage record, add sources, steps and parents, and submit it;
a data steward assigns its reviewer. Each button calls one service and leaves its ledger entry; other roles
get 403; a submitted version shows no editing button and refuses a direct post, saying why."""

import json

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.choices import Role
from audit.choices import LedgerAction
from audit.models import LedgerEntry
from lineage.choices import STAGES, DatasetVersionState, LegalBasis, TransformationKind
from lineage.models import DatasetVersion, LineageEdge, LineageSource, TransformationStep
from lineage.selectors import assigned_reviewers
from lineage.services import MAX_PARAMETER_BYTES, dataset_version_submit, lineage_edge_add, lineage_source_add
from tests.conftest import give_role
from tests.lineage.conftest import digest, ledger_of, new_version, register_source, sourced_version
from tests.signing_in import login_verified

pytestmark = pytest.mark.django_db

BUTTONS = ("Edit lineage record", "Add source", "Add transformation step", "Add parent version", "Submit for review")


def url(name: str, version: DatasetVersion) -> str:
    return reverse(f"admin:lineage_datasetversion_{name}", args=[version.pk])


def page_of(client: Client, version: DatasetVersion) -> str:
    return client.get(url("change", version)).content.decode()


def fresh(version: DatasetVersion) -> DatasetVersion:
    return DatasetVersion.objects.select_related("lineage").get(pk=version.pk)


RECORD = {
    "sensitivity": "confidential",
    "data_categories": ["communications", "contact"],
    "consent_scope": "service improvement",
    "retention_days": "730",
    "retention_basis": "Customer-service records policy",
    "privacy_controls": ["redaction"],
    "dpia_reference": "DPIA-2026-04",
    "notes": "",
}


def step(**fields) -> dict:
    return {
        "kind": TransformationKind.REDACT,
        "tool": "presidio",
        "code_version": "4f2a9c1",
        "parameters": '{"entities": ["IBAN", "CREDIT_CARD"], "threshold": 0.8}',
        "input_digest": "",
        "output_digest": digest("out"),
        **fields,
    }


@pytest.fixture
def draft(engineer, support_chats):
    return new_version(support_chats, engineer)


@pytest.fixture
def submitted(engineer, legal, support_chats, crm):
    return dataset_version_submit(version=sourced_version(support_chats, engineer, crm), actor=engineer)


# --- The authors' buttons ------------------------------------------------------------------------------------


def test_the_authors_see_the_editing_buttons_and_what_is_missing_before_submission(
    client: Client, engineer, draft
) -> None:
    login_verified(client, engineer)

    page = page_of(client, draft)

    assert all(button in page for button in BUTTONS)
    assert "Name at least one source system or parent dataset version." in page
    assert "Assign reviewer" not in page  # a data steward's job


@pytest.mark.parametrize("role", [Role.LEGAL_REVIEWER, Role.AUDITOR, None], ids=["legal", "auditor", "admin"])
def test_other_roles_see_no_editing_button_and_are_refused_with_403(
    request, client: Client, user_in_role, draft, crm, role
) -> None:
    someone = request.getfixturevalue("admin_user") if role is None else user_in_role(role, username="someone")
    login_verified(client, someone)
    posts = {
        "record": RECORD,
        "add_source": {"source_system": crm.pk, "legal_basis": LegalBasis.CONTRACT},
        "add_step": step(),
        "add_parent": {"parent": "support-chats@1"},
        "submit": {},
        "assign_reviewer": {"reviewer": someone.pk},
    }
    entries = LedgerEntry.objects.count()

    page = page_of(client, draft)
    shown = {name: client.get(url(name, draft)).status_code for name in posts if name != "submit"}
    posted = {name: client.post(url(name, draft), data).status_code for name, data in posts.items()}

    assert not any(button in page for button in (*BUTTONS, "Assign reviewer"))
    assert set(shown.values()) == set(posted.values()) == {403}
    version = fresh(draft)
    assert (version.state, version.lineage.sensitivity, version.lineage.retention_days) == ("draft", "internal", 365)
    assert not LineageSource.objects.exists()
    assert not TransformationStep.objects.exists()
    denials = LedgerEntry.objects.filter(action=LedgerAction.DENIED).order_by("sequence")
    assert LedgerEntry.objects.count() == entries + len(posts) == entries + denials.count()
    assert {entry.actor for entry in denials} == {someone}


def test_an_author_edits_the_lineage_record(client: Client, engineer, draft) -> None:
    login_verified(client, engineer)

    form = client.get(url("record", draft))
    response = client.post(url("record", draft), RECORD)

    assert 'value="365"' in form.content.decode()  # the record as it stands
    assert response.status_code == 302
    assert response.url == url("change", draft)
    record = fresh(draft).lineage
    assert (record.sensitivity, record.retention_days, record.dpia_reference) == ("confidential", 730, "DPIA-2026-04")
    assert record.data_categories == ["communications", "contact"]
    update = ledger_of(record)[-1]
    assert (update.action, update.actor) == (LedgerAction.UPDATE, engineer)
    assert update.payload["changes"]["retention_days"] == {"before": 365, "after": 730}


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"retention_days": "-30"}, "retention_days", "greater than or equal to 0"),
        ({"sensitivity": "top-secret"}, "sensitivity", "Select a valid choice"),
        ({"privacy_controls": ["redaction", "vibes"]}, "privacy_controls", "vibes is not one of"),
        ({"dpia_reference": "D" * 101}, "dpia_reference", "at most 100 characters"),
    ],
    ids=["negative-retention", "unknown-sensitivity", "unknown-control", "oversized-dpia"],
)
def test_a_malformed_lineage_record_is_a_form_error_and_nothing_is_saved(
    client: Client, engineer, draft, fields, field, message
) -> None:
    login_verified(client, engineer)
    entries = LedgerEntry.objects.count()

    response = client.post(url("record", draft), {**RECORD, **fields})

    assert response.status_code == 400
    assert message in " ".join(response.context["form"].errors[field])
    assert "DPIA-2026-04" in response.content.decode() or field == "dpia_reference"  # what was typed is kept
    assert fresh(draft).lineage.sensitivity == "internal"
    assert LedgerEntry.objects.count() == entries


def test_an_author_adds_a_source(client: Client, engineer, draft, crm) -> None:
    login_verified(client, engineer)

    response = client.post(
        url("add_source", draft),
        {
            "source_system": crm.pk,
            "legal_basis": LegalBasis.CONTRACT,
            "period_start": "2026-01-01",
            "period_end": "2026-03-31",
        },
    )

    assert response.status_code == 302
    source = LineageSource.objects.get()
    assert (source.record.version_id, source.source_system, source.legal_basis) == (draft.pk, crm, "contract")
    [created] = ledger_of(source)
    assert (created.action, created.actor) == (LedgerAction.CREATE, engineer)


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"period_start": "2026-03-01", "period_end": "2026-02-01"}, "period_end", "The period ends before it starts"),
        ({"period_start": "yesterday"}, "period_start", "Enter a valid date"),
        ({"legal_basis": "because"}, "legal_basis", "Select a valid choice"),
        ({"source_system": ""}, "source_system", "This field is required"),
    ],
    ids=["backwards-period", "not-a-date", "unknown-basis", "no-source"],
)
def test_a_malformed_source_is_a_form_error_and_nothing_is_saved(
    client: Client, engineer, draft, crm, fields, field, message
) -> None:
    login_verified(client, engineer)
    entries = LedgerEntry.objects.count()

    response = client.post(
        url("add_source", draft), {"source_system": crm.pk, "legal_basis": LegalBasis.CONTRACT, **fields}
    )

    assert response.status_code == 400
    assert message in " ".join(response.context["form"].errors[field])
    assert not LineageSource.objects.exists()
    assert LedgerEntry.objects.count() == entries


def test_a_source_named_twice_is_refused_on_the_form(client: Client, engineer, support_chats, crm) -> None:
    version = sourced_version(support_chats, engineer, crm)
    login_verified(client, engineer)

    response = client.post(url("add_source", version), {"source_system": crm.pk, "legal_basis": LegalBasis.CONSENT})

    assert response.status_code == 400
    assert "already exists" in response.content.decode()
    assert LineageSource.objects.count() == 1


def test_an_author_adds_a_transformation_step(client: Client, engineer, draft) -> None:
    login_verified(client, engineer)

    response = client.post(url("add_step", draft), step())

    assert response.status_code == 302
    added = TransformationStep.objects.get()
    assert (added.position, added.kind, added.tool) == (1, "redact", "presidio")
    assert added.parameters == {"entities": ["IBAN", "CREDIT_CARD"], "threshold": 0.8}
    [created] = ledger_of(added)
    assert (created.action, created.actor) == (LedgerAction.CREATE, engineer)


def nested(levels: int) -> str:
    return '{"a": ' * levels + "1" + "}" * levels


@pytest.mark.parametrize(
    ("parameters", "message"),
    [
        ('{"entities": ["IBAN",]}', "Parameters are not valid JSON"),
        ('{"threshold": NaN}', "Parameters are not valid JSON: NaN is not a JSON number"),
        ('["IBAN", "CREDIT_CARD"]', "Parameters must be a JSON object"),
        ('"threshold=0.8"', "Parameters must be a JSON object"),
        (json.dumps({"blob": "x" * MAX_PARAMETER_BYTES}), f"the limit is {MAX_PARAMETER_BYTES}"),
        (json.dumps({"blob": "x" * (5 * MAX_PARAMETER_BYTES)}), f"the limit is {MAX_PARAMETER_BYTES}"),
        (nested(12), "nested deeper than 8 levels"),
        ("[" * 100_000 + "]" * 100_000, "the limit is"),
        ("[" * 30_000 + "]" * 30_000, "nested deeper than 8 levels"),
    ],
    ids=[
        "trailing-comma",
        "nan",
        "list",
        "string",
        "oversized",
        "far-oversized",
        "too-deep",
        "bomb",
        "recursion",
    ],
)
def test_malformed_or_oversized_parameters_are_a_form_error_and_nothing_is_saved(
    client: Client, engineer, draft, parameters: str, message: str
) -> None:
    login_verified(client, engineer)
    entries = LedgerEntry.objects.count()

    response = client.post(url("add_step", draft), step(parameters=parameters))

    assert response.status_code == 400
    assert message in " ".join(response.context["form"].errors["parameters"])
    assert response.context["form"]["tool"].value() == "presidio"  # the rest of what was typed is kept
    assert not TransformationStep.objects.exists()
    assert LedgerEntry.objects.count() == entries


def test_an_author_adds_a_parent_version(client: Client, engineer, support_chats, redacted_chats, draft) -> None:
    child = new_version(redacted_chats, engineer)
    login_verified(client, engineer)

    response = client.post(url("add_parent", child), {"parent": draft.identifier})

    assert response.status_code == 302
    assert list(LineageEdge.objects.values_list("parent", "child")) == [(draft.pk, child.pk)]
    update = ledger_of(child)[-1]
    assert (update.actor, update.payload["derived_from"]["after"]) == (engineer, "support-chats@1")


def test_a_parent_that_would_close_a_cycle_is_refused_with_the_services_reason(
    client: Client, engineer, redacted_chats, draft
) -> None:
    child = new_version(redacted_chats, engineer)
    lineage_edge_add(child=child, parent=draft, actor=engineer)
    login_verified(client, engineer)
    entries = LedgerEntry.objects.count()

    response = client.post(url("add_parent", draft), {"parent": child.identifier})

    assert response.status_code == 400
    assert response.context["form"].errors["parent"] == [
        "support-chats@1 cannot derive from support-chats-redacted@1: support-chats-redacted@1 already derives "
        "from support-chats@1, and lineage must not go round in a circle."
    ]
    assert LineageEdge.objects.count() == 1
    assert LedgerEntry.objects.count() == entries


@pytest.mark.parametrize(
    ("parent", "message"),
    [
        ("support-chats@7", "No such dataset version: support-chats@7."),
        ("support chats 1", "Give each version as dataset@number"),
        ("support-chats@1, support-chats@1, support-chats-redacted@1", "No such dataset version"),
        ("x" * 201, "at most 200 characters"),
        ("support-chats@1", "support-chats@1 cannot derive from itself."),
    ],
    ids=["unknown", "malformed", "unknown-among-several", "oversized", "itself"],
)
def test_a_malformed_parent_is_a_form_error(client: Client, engineer, draft, parent: str, message: str) -> None:
    login_verified(client, engineer)

    response = client.post(url("add_parent", draft), {"parent": parent})

    assert response.status_code == 400
    assert message in " ".join(response.context["form"].errors["parent"])
    assert not LineageEdge.objects.exists()


# --- Submitting ----------------------------------------------------------------------------------------------


def test_submitting_a_draft_with_problems_lists_every_one_and_changes_nothing(
    client: Client, engineer, support_chats, crm
) -> None:
    version = new_version(support_chats, engineer, sensitivity="restricted", retention_days=None)
    lineage_source_add(
        version=version, actor=engineer, source_system=crm, legal_basis=LegalBasis.CONSENT, special_category=True
    )
    login_verified(client, engineer)
    entries = LedgerEntry.objects.count()

    response = client.post(url("submit", version), follow=True)

    page = response.content.decode()
    for problem in (
        "CRM: consent is the legal basis, so state the consent scope.",
        "CRM: special-category data needs an Art. 9 condition.",
        "CRM: special-category data needs a DPIA reference.",
        "Restricted data needs the privacy controls applied (redaction, pseudonymisation, ...).",
        "Set the retention period.",
    ):
        assert page.count(problem) == 2  # in the messages and in the page's own list
    assert "Not submitted: support-chats@1 needs these fixed first." in page
    assert fresh(version).state == DatasetVersionState.DRAFT
    assert LedgerEntry.objects.count() == entries


def test_submitting_a_complete_draft_sends_it_to_legal_review(
    client: Client, engineer, legal, support_chats, crm
) -> None:
    version = sourced_version(support_chats, engineer, crm)
    login_verified(client, engineer)

    response = client.post(url("submit", version), follow=True)

    page = response.content.decode()
    assert "Submitted support-chats@1 for Legal review (assigned to legal)." in page
    assert not any(button in page for button in BUTTONS)
    version = fresh(version)
    assert (version.state, version.submitted_by) == (DatasetVersionState.LEGAL_REVIEW, engineer)
    [transition] = [entry for entry in ledger_of(version) if entry.action == LedgerAction.TRANSITION]
    assert (transition.actor, transition.payload["target"]) == (engineer, "legal_review")


def test_submitting_is_a_post(client: Client, engineer, draft) -> None:
    login_verified(client, engineer)

    assert client.get(url("submit", draft)).status_code == 405
    assert fresh(draft).state == DatasetVersionState.DRAFT


def test_a_submitted_version_shows_no_editing_button_and_refuses_every_edit_saying_why(
    client: Client, steward, engineer, submitted, redacted_chats
) -> None:
    other = register_source(steward, "Zendesk")
    parent = new_version(redacted_chats, engineer)
    login_verified(client, engineer)
    before = (fresh(submitted).lineage.retention_days, LineageSource.objects.count())
    posts = {
        "record": {**RECORD, "retention_days": "30"},
        "add_source": {"source_system": other.pk, "legal_basis": LegalBasis.CONTRACT},
        "add_step": step(),
        "add_parent": {"parent": parent.identifier},
    }

    page = page_of(client, submitted)
    shown = {name: client.get(url(name, submitted)) for name in posts}
    posted = {name: client.post(url(name, submitted), data) for name, data in posts.items()}
    again = client.post(url("submit", submitted), follow=True)

    assert not any(button in page for button in BUTTONS)
    why = "support-chats@1 is legal review; only a draft can change."
    assert all(why in response.content.decode() for response in shown.values())
    assert not any('name="_save"' in response.content.decode() for response in shown.values())
    assert {name: response.status_code for name, response in posted.items()} == dict.fromkeys(posts, 409)
    assert all(why in response.content.decode() for response in posted.values())
    assert why.capitalize() in again.content.decode()  # as a message, which the admin capitalises
    version = fresh(submitted)
    assert (version.state, version.lineage.retention_days, LineageSource.objects.count()) == (
        DatasetVersionState.LEGAL_REVIEW,
        *before,
    )
    assert not TransformationStep.objects.exists()
    assert not LineageEdge.objects.exists()
    denials = [entry for entry in ledger_of(version) if entry.action == LedgerAction.DENIED]
    assert sorted(entry.payload["attempted"] for entry in denials) == sorted(
        [
            "lineage_record_update",
            "lineage_source_add",
            "transformation_step_add",
            "lineage_edge_add",
            "dataset_version_submit",
        ]
    )


# --- Assigning reviewers -------------------------------------------------------------------------------------


def test_a_data_steward_assigns_a_reviewer_of_the_current_stage(
    client: Client, user_in_role, steward, legal, submitted
) -> None:
    other = user_in_role(Role.LEGAL_REVIEWER, username="legal-2")
    user_in_role(Role.SECURITY_REVIEWER, username="security")
    login_verified(client, steward)

    page = page_of(client, submitted)
    form = client.get(url("assign_reviewer", submitted)).content.decode()
    response = client.post(url("assign_reviewer", submitted), {"reviewer": other.pk})

    assert "Assign reviewer" in page
    assert "assigned now: legal." in form
    assert "security" not in form  # only the stage's group is offered
    assert response.status_code == 302
    assert assigned_reviewers(submitted, STAGES[0]) == [other]
    update = ledger_of(submitted)[-1]
    assert (update.action, update.actor) == (LedgerAction.UPDATE, steward)
    assert update.payload["reviewer_assigned"] == {"stage": "legal_review", "reviewer": "legal-2"}


def test_a_reviewer_who_may_not_review_is_refused_on_the_form(
    client: Client, user_in_role, steward, legal, support_chats, crm
) -> None:
    author = user_in_role(Role.ML_ENGINEER, username="author")
    give_role(author, Role.LEGAL_REVIEWER)  # in the stage's group, and the author
    version = dataset_version_submit(version=sourced_version(support_chats, author, crm), actor=author)
    login_verified(client, steward)
    before = assigned_reviewers(version, STAGES[0])

    response = client.post(url("assign_reviewer", version), {"reviewer": author.pk})

    assert response.status_code == 400
    assert "Whoever created or submitted a version cannot review it." in " ".join(
        response.context["form"].errors["reviewer"]
    )
    assert assigned_reviewers(version, STAGES[0]) == before


def test_an_ml_engineer_cannot_assign_reviewers(client: Client, engineer, legal, submitted) -> None:
    login_verified(client, engineer)

    page = page_of(client, submitted)
    response = client.post(url("assign_reviewer", submitted), {"reviewer": legal.pk})

    assert "Assign reviewer" not in page
    assert response.status_code == 403


def test_a_draft_has_no_reviewer_to_assign(client: Client, steward, legal, draft) -> None:
    login_verified(client, steward)

    page = page_of(client, draft)
    response = client.post(url("assign_reviewer", draft), {"reviewer": legal.pk})

    assert "Assign reviewer" not in page
    assert response.status_code == 409
    assert "support-chats@1 is draft, not awaiting review." in response.content.decode()
    assert assigned_reviewers(draft, STAGES[0]) == []


# --- Query counts --------------------------------------------------------------------------------------------


def test_the_version_page_and_its_forms_cost_a_bounded_number_of_queries(
    client: Client, steward, engineer, support_chats, redacted_chats, crm, django_assert_max_num_queries
) -> None:
    version = sourced_version(redacted_chats, engineer, crm)
    login_verified(client, engineer)
    with CaptureQueriesContext(connection) as one_of_each:
        assert client.get(url("change", version)).status_code == 200

    for parent in [new_version(support_chats, engineer) for _ in range(3)]:
        lineage_edge_add(child=version, parent=parent, actor=engineer)
    for source in ("Zendesk", "Genesys", "Intercom"):
        lineage_source_add(
            version=version,
            actor=engineer,
            source_system=register_source(steward, source),
            legal_basis=LegalBasis.CONTRACT,
        )
    assert LineageSource.objects.filter(record__version=version).count() == 4

    # The same for three parents and four sources as for one source; the page reads the review, the signatures,
    # the provenance checklist, the discussion and the lineage graph.
    with CaptureQueriesContext(connection) as many:
        assert client.get(url("change", version)).status_code == 200
    assert len(many) <= len(one_of_each) <= 30
    for name in ("record", "add_source", "add_step", "add_parent"):
        with django_assert_max_num_queries(10):
            assert client.get(url(name, version)).status_code == 200
