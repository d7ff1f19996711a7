"""Registering source systems, datasets, versions and their lineage: who may, what is refused as malformed (and
then nothing is saved), and that a submitted version is frozen."""

import pytest
from django.core.exceptions import ValidationError

from accounts.choices import Role
from audit.audit_context import acting_as
from audit.choices import LedgerAction
from audit.ledger import ActionDenied
from audit.models import LedgerEntry
from lineage.choices import DatasetVersionState, LegalBasis, Sensitivity, TransformationKind
from lineage.models import (
    Dataset,
    DatasetVersion,
    LineageEdge,
    LineageRecord,
    LineageSource,
    LineageTemplate,
    SourceSystem,
    TransformationStep,
)
from lineage.services import (
    MAX_PARAMETER_BYTES,
    dataset_create,
    dataset_version_create,
    dataset_version_submit,
    lineage_edge_add,
    lineage_record_update,
    lineage_source_add,
    transformation_step_add,
)
from tests.lineage.conftest import digest, ledger_of, new_version, register_source, sourced_version

pytestmark = pytest.mark.django_db

EXTRACTION_POLICY = {
    "sensitivity": "confidential",
    "retention_days": 365,
    "privacy_controls": ["redaction"],
    "filters": "closed tickets only; agents' internal notes removed",
    "sampling_method": "stratified by product line, 10%",
}


def last_denial() -> LedgerEntry:
    return LedgerEntry.objects.filter(action=LedgerAction.DENIED).order_by("sequence").last()


def someone(request: pytest.FixtureRequest, user_in_role, role: Role | None):
    """A person in ``role``, or with ``None`` an administrator who holds no role."""
    if role is None:
        return request.getfixturevalue("admin_user")
    return user_in_role(role, username="someone")


@pytest.fixture
def template(steward) -> LineageTemplate:
    with acting_as(steward):
        return LineageTemplate.objects.create(name="Support-chat extraction", defaults=EXTRACTION_POLICY)


# --- Source systems and datasets ---------------------------------------------------------------------------


def test_a_data_steward_registers_a_source_system(steward) -> None:
    crm = register_source(steward, data_categories=["identifiers", "contact", "contact"], description="Salesforce.")

    crm.refresh_from_db()
    assert (crm.name, crm.kind, crm.owner, crm.status) == ("CRM", "CRM", steward, "active")
    assert (crm.default_retention_days, crm.data_categories) == (730, ["contact", "identifiers"])
    created = ledger_of(crm)[0]
    assert (created.action, created.actor) == (LedgerAction.CREATE, steward)
    assert created.payload["after"]["name"] == "CRM"


def test_a_data_steward_registers_a_dataset(steward) -> None:
    dataset = dataset_create(actor=steward, slug="support-chats", name="Support chats", steward=steward)

    dataset.refresh_from_db()
    assert (dataset.slug, dataset.name, dataset.steward, str(dataset)) == (
        "support-chats",
        "Support chats",
        steward,
        "support-chats",
    )
    created = ledger_of(dataset)[0]
    assert (created.action, created.actor) == (LedgerAction.CREATE, steward)
    assert created.payload["after"]["slug"] == "support-chats"


@pytest.mark.parametrize("role", [Role.ML_ENGINEER, Role.LEGAL_REVIEWER, None])
def test_only_a_data_steward_registers_source_systems(request, user_in_role, steward, role) -> None:
    actor = someone(request, user_in_role, role)

    with pytest.raises(ActionDenied, match="Your roles do not allow this"):
        register_source(actor, owner=steward)

    assert not SourceSystem.objects.exists()
    denial = last_denial()
    assert (denial.actor, denial.payload["attempted"]) == (actor, "source_system_create")


@pytest.mark.parametrize("role", [Role.ML_ENGINEER, Role.LEGAL_REVIEWER, None])
def test_only_a_data_steward_registers_datasets(request, user_in_role, steward, role) -> None:
    actor = someone(request, user_in_role, role)

    with pytest.raises(ActionDenied, match="Your roles do not allow this"):
        dataset_create(actor=actor, slug="support-chats", name="Support chats", steward=steward)

    assert not Dataset.objects.exists()
    denial = last_denial()
    assert (denial.actor, denial.payload["attempted"]) == (actor, "dataset_create")


def test_a_source_system_with_an_unknown_data_category_is_refused(steward) -> None:
    with pytest.raises(ValidationError) as raised:
        register_source(steward, data_categories=["contact", "shoe_size"])

    assert raised.value.message_dict["data_categories"] == ["Unknown values: shoe_size."]
    assert not SourceSystem.objects.exists()


# --- Versions ----------------------------------------------------------------------------------------------


def test_versions_are_numbered_per_dataset(steward, engineer, support_chats, redacted_chats) -> None:
    first = new_version(support_chats, steward)
    second = new_version(support_chats, engineer)
    other = new_version(redacted_chats, engineer)

    assert (first.number, second.number, other.number) == (1, 2, 1)
    assert (first.identifier, second.identifier, other.identifier) == (
        "support-chats@1",
        "support-chats@2",
        "support-chats-redacted@1",
    )
    assert str(second) == "support-chats@2"
    second.refresh_from_db()
    assert (second.state, second.created_by, second.revision) == (DatasetVersionState.DRAFT, engineer, 1)
    assert second.lineage.sensitivity == Sensitivity.INTERNAL
    assert second.lineage.retention_days == 365


def test_a_reviewer_cannot_create_a_version(legal, support_chats) -> None:
    with pytest.raises(ActionDenied, match="Your roles do not allow this"):
        new_version(support_chats, legal)

    assert not DatasetVersion.objects.exists()
    denial = ledger_of(support_chats)[-1]
    assert (denial.action, denial.actor, denial.payload["attempted"]) == (
        LedgerAction.DENIED,
        legal,
        "dataset_version_create",
    )


@pytest.mark.parametrize(
    "content_digest",
    [digest("upper").upper(), digest("short")[:63], digest("long") + "0", "sha256:" + digest("prefixed")[7:], ""],
)
def test_a_content_digest_must_be_64_lowercase_hex_digits(engineer, support_chats, content_digest: str) -> None:
    entries = LedgerEntry.objects.count()

    with pytest.raises(ValidationError) as raised:
        new_version(support_chats, engineer, content_digest=content_digest)

    assert "content_digest" in raised.value.message_dict
    assert not DatasetVersion.objects.exists()
    assert not LineageRecord.objects.exists()
    assert LedgerEntry.objects.count() == entries


def test_a_template_pre_fills_the_lineage(engineer, support_chats, template) -> None:
    version = dataset_version_create(
        dataset=support_chats,
        actor=engineer,
        content_digest=digest(),
        row_count=12_000,
        size_bytes=4_800_000,
        storage_uri="s3://training-data/support-chats/extract.parquet",
        template=template,
    )

    version.refresh_from_db()
    record = version.lineage
    assert (record.sensitivity, record.retention_days, record.privacy_controls) == ("confidential", 365, ["redaction"])
    assert version.filters == EXTRACTION_POLICY["filters"]
    assert version.sampling_method == EXTRACTION_POLICY["sampling_method"]


def test_explicit_values_override_the_template(engineer, support_chats, template) -> None:
    version = new_version(
        support_chats,
        engineer,
        template=template,
        sensitivity=Sensitivity.RESTRICTED,
        retention_days=90,
        privacy_controls=["pseudonymisation", "redaction"],
        filters="billing chats only",
        sampling_method="all",
    )

    version.refresh_from_db()
    record = version.lineage
    assert (record.sensitivity, record.retention_days) == ("restricted", 90)
    assert record.privacy_controls == ["pseudonymisation", "redaction"]
    assert (version.filters, version.sampling_method) == ("billing chats only", "all")


@pytest.mark.parametrize(
    ("field", "values", "unknown"),
    [
        ("data_categories", ["contact", "shoe_size"], "shoe_size"),
        ("privacy_controls", ["redaction", "vibes", "hope"], "hope, vibes"),
    ],
)
def test_unknown_categories_and_controls_are_refused_and_nothing_is_saved(
    engineer, support_chats, field: str, values: list[str], unknown: str
) -> None:
    entries = LedgerEntry.objects.count()

    with pytest.raises(ValidationError) as raised:
        new_version(support_chats, engineer, **{field: values})

    assert raised.value.message_dict[field] == [f"Unknown values: {unknown}."]
    assert not DatasetVersion.objects.exists()
    assert not LineageRecord.objects.exists()
    assert LedgerEntry.objects.count() == entries


def test_an_unknown_lineage_field_is_refused(engineer, support_chats) -> None:
    with pytest.raises(ValidationError, match="Unknown lineage fields: shoe_size"):
        new_version(support_chats, engineer, shoe_size=42)

    assert not DatasetVersion.objects.exists()


def test_a_version_is_registered_with_its_parents(engineer, support_chats, redacted_chats) -> None:
    parents = [new_version(support_chats, engineer), new_version(support_chats, engineer)]

    version = new_version(redacted_chats, engineer, parents=parents)

    assert sorted(version.parent_edges.values_list("parent", flat=True)) == sorted(p.pk for p in parents)
    derived = [e.payload["derived_from"]["after"] for e in ledger_of(version) if "derived_from" in e.payload]
    assert derived == ["support-chats@1", "support-chats@2"]


def test_a_version_whose_parents_cannot_be_recorded_is_not_registered_at_all(
    engineer, support_chats, redacted_chats
) -> None:
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Permission

    parent = new_version(support_chats, engineer)
    registrar = get_user_model().objects.create_user(username="registrar", is_staff=True)
    registrar.user_permissions.add(
        Permission.objects.get(content_type__app_label="lineage", codename="add_datasetversion")
    )

    with pytest.raises(ActionDenied, match="change datasetversion"):
        new_version(redacted_chats, registrar, parents=[parent])

    assert not DatasetVersion.objects.filter(dataset=redacted_chats).exists()
    assert not LineageEdge.objects.exists()
    denial = LedgerEntry.objects.filter(action=LedgerAction.DENIED).get()
    assert (denial.actor, denial.payload["attempted"]) == (registrar, "lineage_edge_add")


def test_the_record_of_a_draft_can_be_updated(engineer, support_chats) -> None:
    version = new_version(support_chats, engineer)

    record = lineage_record_update(
        version=version, actor=engineer, data_categories=["communications"], retention_basis="Playbook section 4"
    )

    record.refresh_from_db()
    assert (record.data_categories, record.retention_basis) == (["communications"], "Playbook section 4")
    update = ledger_of(record)[-1]
    assert (update.action, update.actor) == (LedgerAction.UPDATE, engineer)
    assert update.payload["changes"]["retention_basis"] == {"before": "", "after": "Playbook section 4"}


# --- Transformation steps ----------------------------------------------------------------------------------


def test_transformation_steps_are_numbered_in_the_order_added(engineer, support_chats) -> None:
    version = new_version(support_chats, engineer)
    for kind, tool in [
        (TransformationKind.FILTER, "sql"),
        (TransformationKind.REDACT, "presidio"),
        (TransformationKind.SAMPLE, "pandas"),
    ]:
        transformation_step_add(
            version=version,
            actor=engineer,
            kind=kind,
            tool=tool,
            code_version="4f2a9c1",
            parameters={"entities": ["CREDIT_CARD", "IBAN"], "options": {"threshold": 0.8}},
            output_digest=digest(),
        )

    steps = list(version.lineage.steps.order_by("position"))
    assert [(s.position, s.kind, s.tool) for s in steps] == [
        (1, "filter", "sql"),
        (2, "redact", "presidio"),
        (3, "sample", "pandas"),
    ]
    assert steps[1].parameters == {"entities": ["CREDIT_CARD", "IBAN"], "options": {"threshold": 0.8}}
    assert ledger_of(steps[0])[0].action == LedgerAction.CREATE


def nested(levels: int) -> dict:
    """``levels`` dictionaries, one inside the other."""
    value: dict = {"leaf": True}
    for _ in range(levels - 1):
        value = {"inner": value}
    return value


@pytest.mark.parametrize(
    ("parameters", "message"),
    [
        ({"blob": "x" * MAX_PARAMETER_BYTES}, f"the limit is {MAX_PARAMETER_BYTES}"),
        (nested(12), "nested deeper than 8 levels"),
        ({"path": [[[[[[[[["deep"]]]]]]]]]}, "nested deeper than 8 levels"),
        (["threshold", 0.8], "must be a JSON object"),
        ("threshold=0.8", "must be a JSON object"),
    ],
    ids=["oversized", "too-deep", "too-deep-lists", "list", "string"],
)
def test_malformed_parameters_are_refused_with_a_clear_message_and_nothing_is_saved(
    engineer, support_chats, parameters, message: str
) -> None:
    version = new_version(support_chats, engineer)
    entries = LedgerEntry.objects.count()

    with pytest.raises(ValidationError) as raised:
        transformation_step_add(
            version=version,
            actor=engineer,
            kind=TransformationKind.REDACT,
            tool="presidio",
            code_version="1",
            parameters=parameters,
        )

    assert message in raised.value.message_dict["parameters"][0]
    assert not TransformationStep.objects.exists()
    assert LedgerEntry.objects.count() == entries


def test_an_unknown_transformation_kind_is_refused(engineer, support_chats) -> None:
    version = new_version(support_chats, engineer)

    with pytest.raises(ValidationError) as raised:
        transformation_step_add(version=version, actor=engineer, kind="vibes", tool="x", code_version="1")

    assert "kind" in raised.value.message_dict
    assert not TransformationStep.objects.exists()


def test_parameters_within_the_limits_are_kept(engineer, support_chats) -> None:
    parameters = {"blob": "x" * (MAX_PARAMETER_BYTES - 100), "shape": nested(4)}

    step = transformation_step_add(
        version=new_version(support_chats, engineer),
        actor=engineer,
        kind=TransformationKind.AUGMENT,
        tool="paraphraser",
        code_version="2",
        parameters=parameters,
    )

    step.refresh_from_db()
    assert step.parameters == parameters


# --- Edges and ledger --------------------------------------------------------------------------------------


def test_an_added_edge_is_an_update_of_the_child_in_the_ledger(engineer, support_chats, redacted_chats) -> None:
    parent = new_version(support_chats, engineer)
    child = new_version(redacted_chats, engineer)

    edge = lineage_edge_add(child=child, parent=parent, actor=engineer)
    again = lineage_edge_add(child=child, parent=parent, actor=engineer)

    assert (edge.parent, edge.child, again.pk) == (parent, child, edge.pk)
    assert LineageEdge.objects.count() == 1
    updates = [e for e in ledger_of(child) if e.action == LedgerAction.UPDATE and "derived_from" in e.payload]
    assert len(updates) == 1
    assert updates[0].actor == engineer
    assert updates[0].payload["derived_from"] == {"before": None, "after": "support-chats@1"}


def test_creations_are_in_the_ledger_with_what_was_created(steward, engineer, support_chats) -> None:
    crm = register_source(steward)
    version = new_version(support_chats, engineer, data_categories=["contact"])
    source = lineage_source_add(version=version, actor=engineer, source_system=crm, legal_basis=LegalBasis.CONTRACT)

    for obj, field, expected in [
        (version, "content_digest", version.content_digest),
        (version.lineage, "retention_days", 365),
        (version.lineage, "data_categories", ["contact"]),
        (source, "legal_basis", "contract"),
        (crm, "default_retention_days", 730),
    ]:
        created = ledger_of(obj)[0]
        assert (created.action, created.actor) == (LedgerAction.CREATE, steward if obj is crm else engineer)
        assert created.payload["after"][field] == expected


def test_an_ml_engineer_authors_lineage_between_versions_of_a_dataset(engineer, support_chats) -> None:
    parent = new_version(support_chats, engineer)
    child = new_version(support_chats, engineer)

    lineage_edge_add(child=child, parent=parent, actor=engineer)

    assert list(child.parent_edges.values_list("parent", flat=True)) == [parent.pk]


def test_a_reviewer_cannot_author_lineage(engineer, legal, crm, support_chats) -> None:
    version = new_version(support_chats, engineer)
    parent = new_version(support_chats, engineer)

    with pytest.raises(ActionDenied, match="change datasetversion"):
        lineage_source_add(version=version, actor=legal, source_system=crm, legal_basis=LegalBasis.CONTRACT)
    with pytest.raises(ActionDenied):
        lineage_edge_add(child=version, parent=parent, actor=legal)
    with pytest.raises(ActionDenied):
        lineage_record_update(version=version, actor=legal, notes="Looks fine.")

    assert not LineageSource.objects.exists()
    assert not LineageEdge.objects.exists()
    denials = [(e.actor, e.payload["attempted"]) for e in ledger_of(version) if e.action == LedgerAction.DENIED]
    assert denials == [(legal, "lineage_source_add"), (legal, "lineage_edge_add"), (legal, "lineage_record_update")]


# --- Frozen after submission -------------------------------------------------------------------------------


def test_after_submission_nothing_about_the_version_can_change(steward, engineer, crm, support_chats) -> None:
    tickets = register_source(steward, "Ticketing", kind="ticketing")
    version = sourced_version(support_chats, engineer, crm)
    later = new_version(support_chats, engineer)
    dataset_version_submit(version=version, actor=engineer)

    with pytest.raises(ActionDenied, match="only a draft can change"):
        lineage_record_update(version=version, actor=engineer, retention_days=30)
    with pytest.raises(ActionDenied, match="only a draft can change"):
        lineage_source_add(version=version, actor=engineer, source_system=tickets, legal_basis=LegalBasis.CONTRACT)
    with pytest.raises(ActionDenied, match="only a draft can change"):
        transformation_step_add(
            version=version, actor=engineer, kind=TransformationKind.FILTER, tool="sql", code_version="1"
        )
    with pytest.raises(ActionDenied, match="only a draft can change"):
        lineage_edge_add(child=version, parent=later, actor=engineer)
    with pytest.raises(ActionDenied, match="only a draft can change"):
        dataset_version_submit(version=version, actor=engineer)

    version.refresh_from_db()
    assert version.state == DatasetVersionState.LEGAL_REVIEW
    assert version.lineage.retention_days == 365
    assert list(version.lineage.sources.values_list("source_system", flat=True)) == [crm.pk]
    assert not TransformationStep.objects.exists()
    assert not LineageEdge.objects.exists()
    denials = [e for e in ledger_of(version) if e.action == LedgerAction.DENIED]
    assert [(e.actor, e.payload["attempted"]) for e in denials] == [
        (engineer, "lineage_record_update"),
        (engineer, "lineage_source_add"),
        (engineer, "transformation_step_add"),
        (engineer, "lineage_edge_add"),
        (engineer, "dataset_version_submit"),
    ]
    assert all("only a draft can change" in e.payload["reason"] for e in denials)


def test_parameters_exactly_eight_levels_deep_pass_whatever_the_innermost_value() -> None:
    from lineage.services import clean_parameters

    def nested(levels: int, innermost: object) -> dict:
        value: object = innermost
        for _ in range(levels - 1):
            value = {"k": value}
        return {"k": value} if levels else {}

    assert clean_parameters(nested(8, 1))
    assert clean_parameters(nested(7, {"x": 1}))
    with pytest.raises(ValidationError, match="deeper than 8"):
        clean_parameters(nested(8, {"x": 1}))


@pytest.mark.parametrize("not_an_object", [[], "", 0, False])
def test_empty_non_object_parameters_are_refused_not_silently_emptied(
    not_an_object: object, support_chats, engineer
) -> None:
    from lineage.models import TransformationStep
    from tests.lineage.conftest import new_version

    version = new_version(support_chats, engineer)

    with pytest.raises(ValidationError, match="JSON object"):
        transformation_step_add(
            version=version, actor=engineer, kind="filter", tool="x", code_version="1", parameters=not_an_object
        )
    assert not TransformationStep.objects.exists()
