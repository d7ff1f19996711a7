"""The machine-readable evidence: CycloneDX 1.6 ML-BOM, W3C PROV-JSON, ledger JSON Lines, validation CSV.

Embedded in every pack (PDF/A-3 attachments) and offered on their own from a model version's admin page.
"""

import csv
import io
import json
import re
import uuid
from importlib import metadata
from typing import Any

from django.utils import timezone

from audit.canonical import to_jsonable
from audit.tree import StoredTree
from evidence.collect import LedgerSlice, PackData, stream_rows
from registry.models import ValidationResult

PACKAGE = "llm-governance-portal"
PREFIX = "portal"
NAMESPACE = "urn:llm-governance-portal:"


def _json(document: Any) -> bytes:
    return json.dumps(to_jsonable(document), indent=2, sort_keys=True, ensure_ascii=False).encode()


def _qname(kind: str, identifier: object) -> str:
    return f"{PREFIX}:{kind}-{re.sub(r'[^A-Za-z0-9_.-]', '-', str(identifier))}"


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


def ledger_jsonl(entries: LedgerSlice, *, tree: StoredTree | None = None) -> bytes:
    """One line per entry: its hashed document and hashes, and, given the checkpoint's tree, the RFC 9162
    inclusion proof of the entry in that checkpoint, read from the stored tree (so the cost follows the slice, not
    the ledger). The stored canonical bytes are the entry's JCS document, so they are written as they are, never
    parsed and serialised again."""
    proofs = tree.inclusion_proofs_json(sequence - 1 for sequence in entries.sequences) if tree is not None else {}
    parts: list[bytes] = []
    columns = zip(entries.sequences, entries.canonicals, entries.entry_hashes, entries.prev_hashes, strict=True)
    for sequence, canonical, entry_hash, prev_hash in columns:
        parts += (
            b'{"entry":',
            canonical,
            b',"entry_hash":"',
            entry_hash.hex().encode(),
            b'","prev_hash":"',
            prev_hash.hex().encode(),
        )
        if tree is not None:
            parts += (b'","inclusion_proof":', proofs[sequence - 1], b"}\n")
        else:
            parts.append(b'"}\n')
    return b"".join(parts)


def validation_csv(data: PackData) -> bytes:
    """Every validation result of the scope's runs, with each run's model version and suite taken from the runs
    already collected. Streamed (see ``stream_rows``): there may be tens of thousands."""
    runs = {run.pk: (run.model_version.identifier, str(run.suite)) for run in data.validation_runs}
    rows = (
        ValidationResult.objects.filter(run__in=list(runs))
        .order_by("run_id", "case__key", "attempt")
        .values_list("run_id", "case__key", "case__dimension", "case__category", "attempt", "outcome", "score", "note")
    )
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(
        ["model_version", "suite", "run_id", "case", "dimension", "category", "attempt", "outcome", "score", "note"]
    )
    writer.writerows(
        (*runs[run_id], run_id, key, dimension, category, attempt, outcome, "" if score is None else str(score), note)
        for run_id, key, dimension, category, attempt, outcome, score, note in stream_rows(rows)
    )
    return out.getvalue().encode()


def _type(qualified_name: str) -> dict[str, str]:
    """A ``prov:type`` value as PROV-JSON writes a qualified name: a bare string would be a literal, and a PROV
    reader (or the RDF it maps to) would not see ``prov:Person`` as the class it names."""
    return {"$": qualified_name, "type": "prov:QUALIFIED_NAME"}


def _people(*users: Any) -> dict[str, dict[str, Any]]:
    return {
        _qname("person", user.get_username()): {
            "prov:type": _type("prov:Person"),
            "prov:label": user.get_full_name() or user.get_username(),
        }
        for user in users
        if user is not None
    }


def _software(name: str) -> dict[str, dict[str, Any]]:
    return {_qname("pipeline", name): {"prov:type": _type("prov:SoftwareAgent"), "prov:label": name}}


def provenance(data: PackData) -> dict[str, Any]:
    """W3C PROV-JSON. Entities: the sources, the output of every transformation step, dataset versions, the base
    model, model versions, the thresholds and the gate decisions. Activities: transformation, training, evaluation,
    gating and approval. Agents: people (``prov:Person``) and pipelines and tools (``prov:SoftwareAgent``).
    Every ``prov:type`` is a qualified name, not a string."""
    entity: dict[str, Any] = {}
    activity: dict[str, Any] = {}
    agent: dict[str, Any] = {}
    relations: dict[str, dict[str, Any]] = {
        "used": {},
        "wasGeneratedBy": {},
        "wasAssociatedWith": {},
        "wasDerivedFrom": {},
        "wasAttributedTo": {},
    }

    def relate(kind: str, **members: str) -> None:
        relations[kind][f"_:{kind}{len(relations[kind]) + 1}"] = {f"prov:{k}": v for k, v in members.items()}

    def approvals(signatures: list[tuple[Any, bool]], used: str) -> None:
        for signature, valid in signatures:
            act = _qname("approval", signature.pk)
            activity[act] = {
                "prov:type": _type("portal:Approval"),
                "prov:label": signature.meaning,
                "prov:startTime": _iso(signature.signed_at),
                "portal:valid": valid,
                "portal:recordDigest": signature.record_digest,
            }
            agent.update(_people(signature.signer))
            relate("used", activity=act, entity=used)
            relate("wasAssociatedWith", activity=act, agent=_qname("person", signature.signer.get_username()))

    for signed in data.datasets:
        dv = signed.record
        dv_id = _qname("dataset-version", dv.identifier)
        entity[dv_id] = {
            "prov:type": _type("portal:DatasetVersion"),
            "prov:label": dv.identifier,
            "portal:contentDigest": dv.content_digest,
            "portal:state": dv.state,
        }
        record = getattr(dv, "lineage", None)
        sources = []
        for source in record.sources.all() if record else []:
            src = _qname("source", source.source_system.name)
            entity[src] = {"prov:type": _type("portal:SourceSystem"), "prov:label": source.source_system.name}
            sources.append(src)
            relate("wasDerivedFrom", generatedEntity=dv_id, usedEntity=src)
        previous = sources
        for step in record.steps.all() if record else []:
            act = _qname("transformation", f"{dv.identifier}-{step.position}")
            output = _qname("step-output", f"{dv.identifier}-{step.position}")
            activity[act] = {"prov:type": _type("portal:Transformation"), "prov:label": str(step)}
            entity[output] = {
                "prov:type": _type("portal:TransformationOutput"),
                "prov:label": f"{dv.identifier} after step {step.position} ({step.get_kind_display()})",
                "portal:digest": step.output_digest,
                "portal:codeVersion": step.code_version,
            }
            for used in previous:
                relate("used", activity=act, entity=used)
            relate("wasGeneratedBy", entity=output, activity=act)
            agent.update(_software(step.tool))
            relate("wasAssociatedWith", activity=act, agent=_qname("pipeline", step.tool))
            previous = [output]
        if previous and previous != sources:
            relate("wasDerivedFrom", generatedEntity=dv_id, usedEntity=previous[0])
        approvals(signed.signatures, dv_id)
    for run in data.runs:
        act = _qname("training", run.run_id)
        activity[act] = {
            "prov:type": _type("portal:Training"),
            "prov:label": str(run),
            "prov:startTime": _iso(run.started_at),
            "prov:endTime": _iso(run.finished_at),
        }
        base = _qname("base-model", run.base_model_id)
        entity[base] = {
            "prov:type": _type("portal:BaseModel"),
            "prov:label": str(run.base_model),
            "portal:licence": run.base_model.licence,
            "portal:weightsDigest": run.base_model.weights_digest,
        }
        relate("used", activity=act, entity=base)
        agent.update(_people(run.registered_by))
        relate("wasAssociatedWith", activity=act, agent=_qname("person", run.registered_by.get_username()))
        for dv in run.dataset_versions.all():
            relate("used", activity=act, entity=_qname("dataset-version", dv.identifier))
    for mv in data.model_versions:
        mv_id = _qname("model-version", mv.identifier)
        entity[mv_id] = {
            "prov:type": _type("portal:ModelVersion"),
            "prov:label": mv.identifier,
            "portal:weightsDigest": mv.weights_digest,
        }
        relate("wasGeneratedBy", entity=mv_id, activity=_qname("training", mv.training_run.run_id))
        relate("wasDerivedFrom", generatedEntity=mv_id, usedEntity=_qname("base-model", mv.training_run.base_model_id))
        agent.update(_people(mv.registered_by))
        relate("wasAttributedTo", entity=mv_id, agent=_qname("person", mv.registered_by.get_username()))
    for signed in data.thresholds:
        policy = signed.record
        policy_id = _qname("thresholds", policy.pk)
        entity[policy_id] = {
            "prov:type": _type("portal:Thresholds"),
            "prov:label": str(policy),
            **{f"portal:minPassRate-{rule.dimension}": str(rule.min_pass_rate) for rule in policy.rules.all()},
        }
        if policy.decided_by is not None:
            agent.update(_people(policy.decided_by))
            relate("wasAttributedTo", entity=policy_id, agent=_qname("person", policy.decided_by.get_username()))
        approvals(signed.signatures, policy_id)
    for run in data.validation_runs:
        act = _qname("evaluation", run.pk)
        activity[act] = {
            "prov:type": _type("portal:Evaluation"),
            "prov:label": str(run),
            "prov:startTime": _iso(run.started_at),
            "prov:endTime": _iso(run.finished_at),
            "portal:resultsDigest": run.results_digest,
        }
        relate("used", activity=act, entity=_qname("model-version", run.model_version.identifier))
        agent.update(_software(run.executed_by))
        relate("wasAssociatedWith", activity=act, agent=_qname("pipeline", run.executed_by))
    for signed in data.gates:
        gate = signed.record
        gate_id = _qname("gate", gate.pk)
        act = _qname("gating", gate.pk)
        entity[gate_id] = {
            "prov:type": _type("portal:GateDecision"),
            "prov:label": str(gate),
            "portal:outcome": gate.outcome,
        }
        activity[act] = {
            "prov:type": _type("portal:Gating"),
            "prov:label": f"Gate of {gate.model_version} against {gate.threshold_policy}",
            "prov:startTime": _iso(gate.decided_at),
            "prov:endTime": _iso(gate.decided_at),
        }
        relate("used", activity=act, entity=_qname("model-version", gate.model_version.identifier))
        relate("used", activity=act, entity=_qname("thresholds", gate.threshold_policy_id))
        relate("wasGeneratedBy", entity=gate_id, activity=act)
        approvals(signed.signatures, gate_id)
    for signed in data.tickets:
        approvals(signed.signatures, _qname("model-version", signed.record.model_version.identifier))
    document: dict[str, Any] = {
        "prefix": {PREFIX: NAMESPACE},
        "entity": entity,
        "activity": activity,
        "agent": agent,
    }
    document.update({kind: members for kind, members in relations.items() if members})
    return document


def _property(name: str, value: object) -> dict[str, str]:
    return {"name": f"portal:{name}", "value": str(value)}


def _portal_version() -> str:
    try:
        return metadata.version(PACKAGE)
    except metadata.PackageNotFoundError:  # run from a source tree that was never installed
        return "unknown"


def _base_model_component(base: Any) -> dict[str, Any]:
    component: dict[str, Any] = {
        "type": "machine-learning-model",
        "bom-ref": f"base-model:{base.pk}",
        "publisher": base.provider,
        "name": base.name,
        "version": base.version,
        "description": f"Base model {base}",
        "licenses": [{"license": {"name": base.licence}}],
        "properties": [_property("role", "base model")],
    }
    if base.weights_digest:
        component["hashes"] = [{"alg": "SHA-256", "content": base.weights_digest}]
    if base.source_uri:
        component["properties"].append(_property("sourceUri", base.source_uri))
    return component


def bom(data: PackData, *, serial: uuid.UUID | None = None) -> dict[str, Any]:
    """CycloneDX 1.6 ML-BOM: each model version with its model card (metrics with the thresholds they were gated
    against), its base model as a component of its own, each dataset version as a data component whose legal
    bases, retention and approvers are properties, and a ``dependencies`` graph: model version -> base model and
    dataset versions."""
    components: list[dict[str, Any]] = []
    base_models: list[dict[str, Any]] = []
    dependencies: dict[str, list[str]] = {}
    dataset_refs: dict[int, str] = {}
    for signed in data.datasets:
        dv = signed.record
        ref = f"dataset-version:{dv.identifier}"
        dataset_refs[dv.pk] = ref
        record = getattr(dv, "lineage", None)
        properties = [_property("state", dv.state), _property("rows", dv.row_count)]
        if record is not None:
            properties += [_property("sensitivity", record.sensitivity)]
            properties += [
                _property("legalBasis", f"{s.source_system.name}: {s.legal_basis}") for s in record.sources.all()
            ]
            if record.retention_days is not None:
                properties.append(_property("retentionDays", record.retention_days))
            if record.retention_basis:
                properties.append(_property("retentionBasis", record.retention_basis))
        properties += [
            _property("approver", f"{signature.manifestation}{'' if valid else ' (INVALIDATED)'}")
            for signature, valid in signed.signatures
        ]
        dependencies[ref] = []
        components.append(
            {
                "type": "data",
                "bom-ref": ref,
                "name": dv.identifier,
                "version": str(dv.number),
                "hashes": [{"alg": "SHA-256", "content": dv.content_digest}],
                "data": [
                    {
                        "type": "dataset",
                        "name": dv.identifier,
                        "contents": {"url": dv.storage_uri} if dv.storage_uri else {},
                        "classification": record.sensitivity if record is not None else "unknown",
                    }
                ],
                "properties": properties,
            }
        )
    cards = {}
    for card in data.cards:
        cards.setdefault(card.model_version_id, card)
    runs = {run.pk: run for run in data.runs}
    gates = {}
    for signed in data.gates:
        gates.setdefault(signed.record.model_version_id, signed.record)
    for mv in data.model_versions:
        run = runs.get(mv.training_run_id, mv.training_run)  # the collected run: its datasets are fetched
        card = cards.get(mv.pk)
        gate = gates.get(mv.pk)
        model_card: dict[str, Any] = {
            "modelParameters": {
                "approach": {"type": "supervised"},
                "task": "text-generation",
                "datasets": [
                    {"ref": dataset_refs[dv.pk]} for dv in run.dataset_versions.all() if dv.pk in dataset_refs
                ],
            },
        }
        if gate is not None:
            model_card["quantitativeAnalysis"] = {
                "performanceMetrics": [
                    {"type": "pass_rate", "value": str(figure.get("pass_rate")), "slice": dimension}
                    for dimension, figure in sorted(gate.figures.items())
                ]
            }
            # The schema has no place for a metric's bar, so the thresholds sit beside the metrics, by dimension.
            model_card["properties"] = [
                _property("gateOutcome", gate.outcome),
                _property("thresholdPolicy", gate.threshold_policy),
                *(
                    _property(f"{name}:{dimension}", figure[key])
                    for dimension, figure in sorted(gate.figures.items())
                    for name, key in (("minPassRate", "min_pass_rate"), ("borderlineBand", "borderline_band"))
                    if figure.get(key) is not None
                ),
            ]
        if card is not None:
            considerations: dict[str, Any] = {}
            if card.intended_use:
                considerations["useCases"] = [card.intended_use]
            if card.out_of_scope_use:
                considerations["technicalLimitations"] = [card.out_of_scope_use]
            if card.known_risks:
                considerations["ethicalConsiderations"] = [
                    {"name": card.known_risks, "mitigationStrategy": card.escalation_paths}
                ]
            if considerations:
                model_card["considerations"] = considerations
        base_ref = f"base-model:{run.base_model_id}"
        if base_ref not in dependencies:
            base_models.append(_base_model_component(run.base_model))
            dependencies[base_ref] = []
        model_ref = f"model-version:{mv.identifier}"
        dependencies[model_ref] = [
            base_ref,
            *sorted(dataset_refs[dv.pk] for dv in run.dataset_versions.all() if dv.pk in dataset_refs),
        ]
        components.append(
            {
                "type": "machine-learning-model",
                "bom-ref": model_ref,
                "name": mv.name,
                "version": str(mv.number),
                "description": mv.description or mv.identifier,
                "hashes": [{"alg": "SHA-256", "content": mv.weights_digest}],
                "modelCard": model_card,
                "properties": [
                    _property("baseModel", run.base_model),
                    _property("trainingRun", run.run_id),
                    _property("codeCommit", run.code_commit),
                    _property("containerImage", run.container_image_digest),
                ],
            }
        )
    use_case_ref = f"use-case:{data.use_case.slug}"
    return {
        "bomFormat": "CycloneDX",
        "specVersion": "1.6",
        "serialNumber": (serial or uuid.uuid4()).urn,
        "version": 1,
        "metadata": {
            "timestamp": timezone.now().replace(microsecond=0).isoformat().replace("+00:00", "Z"),
            "tools": {
                "components": [
                    {"type": "application", "name": PACKAGE, "version": _portal_version(), "bom-ref": "tool:portal"}
                ]
            },
            "component": {
                "type": "application",
                "bom-ref": use_case_ref,
                "name": data.use_case.name,
            },
        },
        "components": [*components, *base_models],
        "dependencies": [
            {"ref": use_case_ref, "dependsOn": [f"model-version:{mv.identifier}" for mv in data.model_versions]},
            *({"ref": ref, "dependsOn": on} for ref, on in dependencies.items()),
        ],
    }


def bom_bytes(data: PackData) -> bytes:
    return _json(bom(data))


def provenance_bytes(data: PackData) -> bytes:
    return _json(provenance(data))
