"""The standard exports, read as their own tools read them: CycloneDX 1.6 checked against the official schema, and
PROV-JSON loaded with the ``prov`` package and written out as PROV-N, where a type is a qualified name or a string."""

import json

import pytest
from cyclonedx.schema import SchemaVersion
from cyclonedx.validation.json import JsonStrictValidator
from prov.constants import PROV_TYPE
from prov.identifier import QualifiedName
from prov.model import ProvAgent, ProvDocument, ProvEntity

from evidence.collect import collect
from evidence.exports import bom_bytes, provenance_bytes

pytestmark = pytest.mark.django_db

PROV = "http://www.w3.org/ns/prov#"
PORTAL = "urn:llm-governance-portal:"


@pytest.fixture
def data(promoted):
    return collect(use_case=promoted.use_case, model_version=promoted)


def _types(record) -> set[QualifiedName]:
    values = record.get_attribute(PROV_TYPE)
    assert all(isinstance(value, QualifiedName) for value in values), values
    return {value.uri for value in values}


def test_the_bom_is_valid_cyclonedx_1_6_with_the_base_model_a_dependency_graph_tools_and_thresholds(
    data, promoted
) -> None:
    text = bom_bytes(data).decode()
    assert JsonStrictValidator(SchemaVersion.V1_6).validate_str(text) is None
    bom = json.loads(text)
    base = promoted.training_run.base_model
    base_component = next(c for c in bom["components"] if c["bom-ref"] == f"base-model:{base.pk}")
    assert base_component["type"] == "machine-learning-model"
    assert (base_component["name"], base_component["version"]) == (base.name, base.version)
    graph = {entry["ref"]: entry["dependsOn"] for entry in bom["dependencies"]}
    model_ref = f"model-version:{promoted.identifier}"
    assert graph[model_ref] == [f"base-model:{base.pk}", "dataset-version:support-chats@1"]
    assert graph[f"use-case:{promoted.use_case.slug}"] == [model_ref]
    refs = {c["bom-ref"] for c in bom["components"]} | {bom["metadata"]["component"]["bom-ref"]}
    assert set(graph) <= refs
    assert {ref for on in graph.values() for ref in on} <= refs
    assert bom["metadata"]["tools"]["components"][0]["name"] == "llm-governance-portal"

    model = next(c for c in bom["components"] if c["bom-ref"] == model_ref)
    metrics = {m["slice"]: m["value"] for m in model["modelCard"]["quantitativeAnalysis"]["performanceMetrics"]}
    properties = {p["name"]: p["value"] for p in model["modelCard"]["properties"]}
    gate = promoted.gate_decisions.first()
    assert properties["portal:thresholdPolicy"] == str(gate.threshold_policy)
    for dimension, figure in gate.figures.items():
        assert metrics[dimension] == str(figure["pass_rate"])
        assert properties[f"portal:minPassRate:{dimension}"] == str(figure["min_pass_rate"])


def test_provenance_types_are_qualified_names_people_and_software_agents_as_prov_classes(data) -> None:
    document = ProvDocument.deserialize(content=provenance_bytes(data).decode(), format="json")
    agents = [record for record in document.get_records(ProvAgent)]
    assert agents
    kinds = {frozenset(_types(agent)) for agent in agents}
    assert kinds == {frozenset({PROV + "Person"}), frozenset({PROV + "SoftwareAgent"})}
    for record in document.get_records():
        if record.get_attribute(PROV_TYPE):
            _types(record)
    provn = document.serialize(format="provn")
    assert "prov:type='prov:Person'" in provn
    assert "prov:type='prov:SoftwareAgent'" in provn
    assert 'prov:type="' not in provn


def test_provenance_has_an_entity_per_step_output_the_base_model_the_gate_and_the_thresholds(data, promoted) -> None:
    document = ProvDocument.deserialize(content=provenance_bytes(data).decode(), format="json")
    entities: dict[str, set[str]] = {}
    for entity in document.get_records(ProvEntity):
        for kind in _types(entity):
            entities.setdefault(kind, set()).add(str(entity.identifier))
    steps = data.datasets[0].record.lineage.steps.all()
    assert len(entities[PORTAL + "TransformationOutput"]) == len(steps) > 0
    assert entities[PORTAL + "BaseModel"] == {f"portal:base-model-{promoted.training_run.base_model_id}"}
    assert entities[PORTAL + "GateDecision"] == {f"portal:gate-{g.pk}" for g in promoted.gate_decisions.all()}
    gate = promoted.gate_decisions.first()
    assert f"portal:thresholds-{gate.threshold_policy_id}" in entities[PORTAL + "Thresholds"]
    provn = document.serialize(format="provn")
    model = f"portal:model-version-{promoted.identifier.replace(':', '-')}"
    assert f"wasDerivedFrom({model}, portal:base-model-{promoted.training_run.base_model_id}" in provn
    assert f"wasGeneratedBy(portal:gate-{gate.pk}, portal:gating-{gate.pk}" in provn
    assert f"used(portal:gating-{gate.pk}, portal:thresholds-{gate.threshold_policy_id}" in provn
