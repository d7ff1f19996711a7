"""The machine-readable evidence: CycloneDX 1.6 ML-BOM, W3C PROV-JSON, ledger JSON Lines, validation CSV.

Embedded in every pack (PDF/A-3 attachments) and offered on their own from a model version's admin page.
"""

import csv
import io
import json
import re
import uuid
from typing import Any

from django.utils import timezone

from audit.canonical import to_jsonable
from audit.tree import StoredTree
from evidence.collect import LedgerSlice, PackData, stream_rows
from registry.models import ValidationResult

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


def _people(*users: Any) -> dict[str, dict[str, Any]]:
    return {
        _qname("person", user.get_username()): {
            "prov:type": "prov:Person",
            "prov:label": user.get_full_name() or user.get_username(),
        }
        for user in users
        if user is not None
    }


def provenance(data: PackData) -> dict[str, Any]:
    """W3C PROV-JSON: dataset and model versions are entities; transformation, training, evaluation and approval
    are activities; people and pipelines are agents."""
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

    for signed in data.datasets:
        dv = signed.record
        dv_id = _qname("dataset-version", dv.identifier)
        entity[dv_id] = {
            "prov:type": "portal:DatasetVersion",
            "prov:label": dv.identifier,
            "portal:contentDigest": dv.content_digest,
            "portal:state": dv.state,
        }
        record = getattr(dv, "lineage", None)
        for step in record.steps.all() if record else []:
            act = _qname("transformation", f"{dv.identifier}-{step.position}")
            activity[act] = {"prov:type": "portal:Transformation", "prov:label": str(step)}
            relate("wasGeneratedBy", entity=dv_id, activity=act)
            pipeline = _qname("pipeline", step.tool)
            agent[pipeline] = {"prov:type": "prov:SoftwareAgent", "prov:label": step.tool}
            relate("wasAssociatedWith", activity=act, agent=pipeline)
        for source in record.sources.all() if record else []:
            src = _qname("source", source.source_system.name)
            entity[src] = {"prov:type": "portal:SourceSystem", "prov:label": source.source_system.name}
            relate("wasDerivedFrom", generatedEntity=dv_id, usedEntity=src)
        for signature, valid in signed.signatures:
            act = _qname("approval", signature.pk)
            activity[act] = {
                "prov:type": "portal:Approval",
                "prov:label": signature.meaning,
                "prov:startTime": _iso(signature.signed_at),
                "portal:valid": valid,
            }
            agent.update(_people(signature.signer))
            relate("used", activity=act, entity=dv_id)
            relate("wasAssociatedWith", activity=act, agent=_qname("person", signature.signer.get_username()))
    for run in data.runs:
        act = _qname("training", run.run_id)
        activity[act] = {
            "prov:type": "portal:Training",
            "prov:label": str(run),
            "prov:startTime": _iso(run.started_at),
            "prov:endTime": _iso(run.finished_at),
        }
        agent.update(_people(run.registered_by))
        relate("wasAssociatedWith", activity=act, agent=_qname("person", run.registered_by.get_username()))
        for dv in run.dataset_versions.all():
            relate("used", activity=act, entity=_qname("dataset-version", dv.identifier))
    for mv in data.model_versions:
        mv_id = _qname("model-version", mv.identifier)
        entity[mv_id] = {
            "prov:type": "portal:ModelVersion",
            "prov:label": mv.identifier,
            "portal:weightsDigest": mv.weights_digest,
        }
        relate("wasGeneratedBy", entity=mv_id, activity=_qname("training", mv.training_run.run_id))
        agent.update(_people(mv.registered_by))
        relate("wasAttributedTo", entity=mv_id, agent=_qname("person", mv.registered_by.get_username()))
    for run in data.validation_runs:
        act = _qname("evaluation", run.pk)
        activity[act] = {
            "prov:type": "portal:Evaluation",
            "prov:label": str(run),
            "prov:startTime": _iso(run.started_at),
            "prov:endTime": _iso(run.finished_at),
        }
        relate("used", activity=act, entity=_qname("model-version", run.model_version.identifier))
        pipeline = _qname("pipeline", run.executed_by)
        agent[pipeline] = {"prov:type": "prov:SoftwareAgent", "prov:label": run.executed_by}
        relate("wasAssociatedWith", activity=act, agent=pipeline)
    for signed in [*data.gates, *data.tickets]:
        for signature, valid in signed.signatures:
            act = _qname("approval", signature.pk)
            activity[act] = {
                "prov:type": "portal:Approval",
                "prov:label": signature.meaning,
                "prov:startTime": _iso(signature.signed_at),
                "portal:valid": valid,
            }
            agent.update(_people(signature.signer))
            relate("wasAssociatedWith", activity=act, agent=_qname("person", signature.signer.get_username()))
            model_version = signed.record.model_version
            relate("used", activity=act, entity=_qname("model-version", model_version.identifier))
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


def bom(data: PackData, *, serial: uuid.UUID | None = None) -> dict[str, Any]:
    """CycloneDX 1.6 ML-BOM: each model version with its model card, each dataset version as a data component
    whose legal bases, retention and approvers are properties."""
    components: list[dict[str, Any]] = []
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
        components.append(
            {
                "type": "machine-learning-model",
                "bom-ref": f"model-version:{mv.identifier}",
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
    return {
        "bomFormat": "CycloneDX",
        "specVersion": "1.6",
        "serialNumber": (serial or uuid.uuid4()).urn,
        "version": 1,
        "metadata": {
            "timestamp": timezone.now().replace(microsecond=0).isoformat().replace("+00:00", "Z"),
            "component": {
                "type": "application",
                "bom-ref": f"use-case:{data.use_case.slug}",
                "name": data.use_case.name,
            },
        },
        "components": components,
    }


def bom_bytes(data: PackData) -> bytes:
    return _json(bom(data))


def provenance_bytes(data: PackData) -> bytes:
    return _json(provenance(data))
