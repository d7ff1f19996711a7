"""Provenance completeness, named and scored: the fact catalogue, the checklist of a version and everything it was built
from in a fixed number of queries, the required facts per environment under change control, and what they block
(promotion, ``gate_check``, ``provenance_check``), where they show (pages, landing page, evidence pack)."""

import io
import json

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from audit.choices import LedgerAction
from audit.ledger import ActionDenied
from audit.signatures import signatures_for
from evidence import builder
from governance.choices import RevisionState
from governance.services.revisions import revision_approve
from lineage.completeness import SOURCE_CONSENT_SCOPE, Fact, FactKind
from registry.choices import Environment
from registry.completeness import (
    fact_catalogue,
    fact_keys,
    model_version_completeness,
    model_versions_completeness,
    register_fact_check,
)
from registry.models import ProvenanceRequirement
from registry.provenance_gaps import provenance_gaps_of
from registry.services.completeness import provenance_requirement_propose, required_fact_keys
from registry.services.promotion import promotion_problems
from tests.evidence.helpers import text
from tests.registry.conftest import PASSWORD, ledger_of
from tests.signing_in import login_verified

pytestmark = pytest.mark.django_db

CARD_GAP = "support-assistant:{n} / model card: regulatory considerations: model card section written"


def complete(world, **card_sections: str):
    """A version with every fact recorded (or the card sections given left out)."""
    model = world.model()
    world.gate(model)
    world.card(model, **card_sections)
    return model


def require(world, staging: list[str]) -> ProvenanceRequirement:
    proposal = provenance_requirement_propose(
        use_case=None, actor=world["risk"], required_facts={"staging": staging}, rationale="What staging needs."
    )
    return revision_approve(revision=proposal, approver=world["risk2"], password=PASSWORD)


def test_the_catalogue_names_every_fact_the_issue_expects_with_stable_unique_keys() -> None:
    keys = [kind.key for kind in fact_catalogue()]

    assert len(keys) == len(set(keys))
    assert set(keys) == {
        "dataset_version.sources",
        "source.legal_basis",
        "source.retention",
        "source.consent_scope",
        "source.period",
        "step.tool",
        "step.code_version",
        "step.output_digest",
        "run.code_commit",
        "run.config_hash",
        "run.random_seeds",
        "run.container_image_digest",
        "run.library_versions",
        "run.hardware",
        "run.decision_log",
        "model_version.dimension_tested",
        "model_version.card_section",
        "model_version.language_tested",
    }
    with pytest.raises(ValueError, match=r"source\.consent_scope"):
        register_fact_check([SOURCE_CONSENT_SCOPE], lambda versions: {})


def test_an_extra_check_adds_its_facts_to_every_version_and_to_the_catalogue(world) -> None:
    from registry import completeness

    kind = FactKind("model_version.test_extra", "an extra fact", "model version", SOURCE_CONSENT_SCOPE.role)
    model = complete(world)

    def extra(versions):
        return {version.pk: [Fact(kind, str(version), present=False)] for version in versions}

    register_fact_check([kind], extra)
    try:
        assert "model_version.test_extra" in fact_keys()
        assert [fact.key for fact in model_version_completeness(model).missing] == ["model_version.test_extra"]
    finally:
        completeness._extra_fact_kinds.remove(kind)
        completeness._extra_fact_checks.remove(extra)


def test_a_complete_version_scores_100_and_a_missing_card_section_is_named_with_who_fills_it(world) -> None:
    full = complete(world)
    partial = complete(world, regulatory_considerations="")

    assert model_version_completeness(full).missing == []
    assert model_version_completeness(full).score == 100
    result = model_version_completeness(partial)
    [gap] = result.missing
    assert gap.key == "model_version.card_section"
    assert gap.describe() == CARD_GAP.format(n=partial.number) + " (Product Owner, Priya Okafor)"
    assert gap.url == reverse("admin:registry_modelversion_change", args=[partial.pk])
    assert result.summary() == f"{result.total - 1} of {result.total} facts ({result.score}%)"
    assert result.score < 100
    # The facts of the data, the run and the version: sources, steps, the run's seven, every threshold dimension.
    assert {fact.kind.record for fact in result.facts} == {
        "dataset version",
        "source",
        "transformation step",
        "training run",
        "model version",
    }


def test_a_version_without_validation_or_card_misses_every_dimension_and_section(world) -> None:
    bare = world.model()

    missing = {fact.key for fact in model_version_completeness(bare).missing}

    assert missing == {"model_version.dimension_tested", "model_version.card_section"}


def test_the_checklist_takes_the_same_queries_for_one_dataset_or_two_and_one_version_or_three(world) -> None:
    one = complete(world)
    two = world.model(datasets=("support-chats@1", "wealth-faq@2"))
    world.gate(two)
    others = [world.model(), world.model()]

    counts = []
    for versions in ([one], [two], [one, two, *others]):
        with CaptureQueriesContext(connection) as queries:
            model_versions_completeness(versions)
        counts.append(len(queries))

    # ten, and five for the training data's languages against the validation cases' (registry.provenance_languages)
    assert counts[0] == counts[1] == counts[2] == 15
    two_datasets = model_version_completeness(two).facts
    assert {fact.subject.split(" / ")[0] for fact in two_datasets if fact.kind.record == "source"} == {
        "support-chats@1",
        "wealth-faq@2",
    }


def test_changing_the_required_facts_takes_a_second_risk_officer_and_is_in_the_ledger(world) -> None:
    with pytest.raises(ActionDenied, match="Your roles do not allow"):
        provenance_requirement_propose(
            use_case=None, actor=world["mleng"], required_facts={"staging": ["run.hardware"]}, rationale="Faster."
        )
    proposal = provenance_requirement_propose(
        use_case=None, actor=world["risk"], required_facts={"staging": ["run.hardware"]}, rationale="Reproducible."
    )
    assert required_fact_keys(None, Environment.STAGING) == frozenset()  # pending: not in effect

    with pytest.raises(ActionDenied, match="another person must decide"):
        revision_approve(revision=proposal, approver=world["risk"], password=PASSWORD)
    with pytest.raises(ActionDenied, match="Only a Risk Officer"):
        revision_approve(revision=proposal, approver=world["mleng"], password=PASSWORD)
    approved = revision_approve(revision=proposal, approver=world["risk2"], password=PASSWORD)

    assert approved.state == RevisionState.EFFECTIVE
    assert required_fact_keys(None, Environment.STAGING) == {"run.hardware"}
    assert required_fact_keys(None, Environment.PROD) == fact_keys()  # whatever the revision says
    assert required_fact_keys(None, Environment.DEV) == frozenset()
    entries = ledger_of(approved)
    assert any(entry.payload.get("content") == {"staging": {"run.hardware": "required"}} for entry in entries)
    assert LedgerAction.SIGN in [entry.action for entry in entries]
    [(signature, holds)] = signatures_for(approved)
    assert (signature.signer, holds) == (world["risk2"], True)


@pytest.mark.parametrize(
    ("required_facts", "field"),
    [
        ({"staging": ["run.nope"]}, "staging"),
        ({"prod": ["run.hardware"]}, "prod"),
        ({"dev": []}, "dev"),
    ],
)
def test_a_revision_naming_an_unknown_fact_or_environment_is_refused(world, required_facts, field) -> None:
    with pytest.raises(ValidationError) as refused:
        provenance_requirement_propose(
            use_case=None, actor=world["risk"], required_facts=required_facts, rationale="Why not."
        )
    assert field in refused.value.message_dict
    assert not ProvenanceRequirement.objects.exists()


def test_a_second_pending_revision_and_an_empty_rationale_are_refused(world) -> None:
    with pytest.raises(ValidationError, match="Say why"):
        provenance_requirement_propose(use_case=None, actor=world["risk"], required_facts={}, rationale="  ")
    provenance_requirement_propose(use_case=None, actor=world["risk"], required_facts={}, rationale="First.")
    with pytest.raises(ActionDenied, match="already pending"):
        provenance_requirement_propose(use_case=None, actor=world["risk2"], required_facts={}, rationale="Second.")


def test_staging_is_blocked_by_the_required_subset_and_prod_by_any_missing_fact(world) -> None:
    model = complete(world, regulatory_considerations="")
    gap = f"Provenance fact missing for Staging: {CARD_GAP.format(n=model.number)} (Product Owner, Priya Okafor)."

    require(world, ["run.code_commit"])
    assert not [p for p in promotion_problems(model, Environment.STAGING) if "Provenance fact" in p]
    assert [p for p in promotion_problems(model, Environment.PROD) if "Provenance fact" in p] == [
        gap.replace("Staging", "Production")
    ]

    require(world, ["model_version.card_section"])
    assert [p for p in promotion_problems(model, Environment.STAGING) if "Provenance fact" in p] == [gap]


def test_gate_check_names_each_missing_fact(world) -> None:
    model = complete(world, regulatory_considerations="", escalation_paths="")
    require(world, ["model_version.card_section"])

    with pytest.raises(CommandError) as blocked:
        call_command("gate_check", "--model-version", model.identifier, "--environment", "staging")

    message = str(blocked.value)
    assert "model card: regulatory considerations: model card section written" in message
    assert "model card: escalation paths: model card section written" in message


def test_provenance_check_lists_the_gaps_as_json_and_fails_while_one_blocks_production(world) -> None:
    model = complete(world, regulatory_considerations="")
    out = io.StringIO()

    with pytest.raises(CommandError, match="1 missing provenance fact") as blocked:
        call_command("provenance_check", "--model-version", model.identifier, "--json", stdout=out)

    assert blocked.value.returncode == 1
    document = json.loads(out.getvalue())
    assert document["blocks_production"] is True
    assert document["open_flags"] == []
    [gap] = document["gaps"]
    assert gap["key"] == "model_version.card_section"
    assert gap["role"] == "Product Owner"
    assert gap["owner"] == "Priya Okafor"
    assert document["completeness"]["present"] == document["completeness"]["total"] - 1

    full = complete(world)
    text_out = io.StringIO()
    call_command("provenance_check", "--model-version", full.identifier, stdout=text_out)
    assert f"Provenance completeness of {full}: " in text_out.getvalue()
    assert "(100%)" in text_out.getvalue()


def test_the_owner_finds_their_gaps_on_the_landing_queue(world) -> None:
    model = complete(world, regulatory_considerations="", known_risks="")

    items = list(provenance_gaps_of(world["product"]))

    assert [item.label for item in items] == [f"{model}: 2 missing (model card section written)"]
    assert items[0].url == reverse("admin:registry_modelversion_change", args=[model.pk])
    assert list(provenance_gaps_of(world["mleng"])) == []  # their records are complete
    assert list(provenance_gaps_of(world["auditor"])) == []


def test_the_evidence_pack_shows_the_score_and_the_missing_facts(world) -> None:
    model = complete(world, regulatory_considerations="")
    completeness = model_version_completeness(model)

    pdf = builder.build_pack(use_case=model.use_case, model_version=model).pdf

    words = " ".join(text(pdf).split())
    assert (
        f"Provenance completeness of {model}: {completeness.present} of {completeness.total} facts "
        f"({completeness.score}%)" in words
    )
    assert "model card section written" in words
    assert f"{model} / model card: regulatory considerations" in words


# --- The pages ------------------------------------------------------------------------------------------------


def test_the_three_record_pages_show_the_checklist(client: Client, world) -> None:
    model = complete(world, regulatory_considerations="")
    login_verified(client, world["auditor"])

    for url in (
        reverse("admin:registry_modelversion_change", args=[model.pk]),
        reverse("admin:registry_trainingrun_change", args=[model.training_run_id]),
        reverse(
            "admin:lineage_datasetversion_change", args=[model.training_run.dataset_links.first().dataset_version_id]
        ),
    ):
        response = client.get(url)
        assert response.status_code == 200
        assert b'id="provenance-checklist"' in response.content
        assert b"Provenance completeness:" in response.content
    page = client.get(reverse("admin:registry_modelversion_change", args=[model.pk])).content.decode()
    assert 'class="fact-missing" data-fact="model_version.card_section"' in page


def test_only_a_risk_officer_proposes_on_the_page_and_bad_input_is_a_400(client: Client, world) -> None:
    url = reverse("admin:registry_provenancerequirement_propose")
    login_verified(client, world["mleng"])
    assert client.get(url).status_code == 403
    assert client.post(url, {"rationale": "x", "staging": ["run.hardware"]}).status_code == 403
    assert not ProvenanceRequirement.objects.exists()

    client.logout()
    login_verified(client, world["risk"])
    assert client.get(url).status_code == 200
    assert client.post(url, {"rationale": "", "staging": ["run.hardware"]}).status_code == 400
    assert client.post(url, {"rationale": "Why.", "staging": ["run.nope"]}).status_code == 400
    assert client.post(url, {"rationale": "x" * 4001, "staging": ["run.hardware"]}).status_code == 400
    assert not ProvenanceRequirement.objects.exists()

    response = client.post(url, {"rationale": "Reproducible runs.", "staging": ["run.hardware", "run.code_commit"]})
    assert response.status_code == 302
    proposal = ProvenanceRequirement.objects.get()
    assert proposal.state == RevisionState.PENDING
    assert proposal.required_facts == {"test": [], "staging": ["run.code_commit", "run.hardware"]}
    assert client.post(url, {"rationale": "Again.", "staging": ["run.hardware"]}).status_code == 409
    approve = reverse("admin:registry_provenancerequirement_approve", args=[proposal.pk])
    assert client.get(approve).status_code in (200, 403)
    assert "another person must decide" in client.get(approve).content.decode()


def test_a_proposed_requirement_waits_for_the_other_risk_officer_and_its_page_shows_it(client: Client, world) -> None:
    from registry.provenance_gaps import _requirements_to_decide

    proposal = provenance_requirement_propose(
        use_case=None, actor=world["risk"], required_facts={"staging": ["run.hardware"]}, rationale="Reproducible."
    )

    assert list(_requirements_to_decide(world["risk"])) == []
    [item] = _requirements_to_decide(world["risk2"])
    assert item.url == reverse("admin:registry_provenancerequirement_approve", args=[proposal.pk])
    login_verified(client, world["auditor"])
    page = client.get(reverse("admin:registry_provenancerequirement_change", args=[proposal.pk]))
    assert page.status_code == 200
    assert "run.hardware" in page.content.decode()
