"""The machine-readable evidence: CycloneDX 1.6 ML-BOM, W3C PROV-JSON, ledger JSON Lines, validation CSV.

Embedded in every pack (PDF/A-3 attachments) and offered on their own from a model version's admin page.
"""

import bisect
import csv
import io
import json
import re
import uuid
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from django.utils import timezone

from audit import merkle
from audit.canonical import to_jsonable
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


def _split(size: int) -> int:
    """The largest power of two below ``size`` (> 1): where RFC 9162 splits a tree."""
    return 1 << ((size - 1).bit_length() - 1)


class _Tree:
    """The RFC 9162 tree over a checkpoint's leaves, for proving many of them at once.

    The tree of n leaves is a row of perfect subtrees, one per one-bit of n, biggest first (the RFC splits off
    the largest power of two below the size, again and again). Each is kept as its levels, lists of node
    hashes from its leaves up to its root, so every leaf and node is hashed once (about 2n hashes) and a
    sibling is a list look-up. A leaf's audit path is the siblings in its subtree, then the root of everything
    right of that subtree (if anything is), then the roots of the subtrees left of it, nearest first.
    """

    def __init__(self, leaves: Sequence[bytes]) -> None:
        self.size = len(leaves)
        #: (first leaf, levels) of each perfect subtree, left to right.
        self.parts: list[tuple[int, list[list[bytes]]]] = []
        start = 0
        while start < self.size:
            remaining = self.size - start
            width = remaining if remaining & (remaining - 1) == 0 else _split(remaining)
            level = [merkle.leaf_hash(data) for data in leaves[start : start + width]]
            levels = [level]
            while len(level) > 1:
                level = [merkle.node_hash(level[i], level[i + 1]) for i in range(0, len(level), 2)]
                levels.append(level)
            self.parts.append((start, levels))
            start += width
        roots = [levels[-1][0] for _start, levels in self.parts]
        #: Per subtree, the path above its root, nearest first.
        self.above: list[list[bytes]] = []
        right: bytes | None = None
        for number in reversed(range(len(roots))):
            self.above.append(([right] if right is not None else []) + roots[:number][::-1])
            right = roots[number] if right is None else merkle.node_hash(roots[number], right)
        self.above.reverse()

    def _parts_with(self, indices: Iterable[int]) -> Iterator[tuple[int, list[list[bytes]], list[bytes], list[int]]]:
        """Each subtree holding any of ``indices``: its first leaf, levels, path above and those indices."""
        wanted = sorted(set(indices))
        if wanted and not 0 <= wanted[0] <= wanted[-1] < self.size:
            raise ValueError(f"leaf index out of range for a tree of {self.size} leaves")
        for (start, levels), above in zip(self.parts, self.above, strict=True):
            lo = bisect.bisect_left(wanted, start)
            hi = bisect.bisect_left(wanted, start + len(levels[0]))
            if lo < hi:
                yield start, levels, above, wanted[lo:hi]

    def proofs(self, indices: Iterable[int]) -> dict[int, list[bytes]]:
        return {
            index: [levels[j][((index - start) >> j) ^ 1] for j in range(len(levels) - 1)] + above
            for start, levels, above, inside in self._parts_with(indices)
            for index in inside
        }

    def proofs_json(self, indices: Iterable[int]) -> dict[int, bytes]:
        """``proofs`` as JSON arrays of hex strings, written as ``json.dumps`` writes them.

        Built from the top down: leaves under the same node share the end of their path (a path runs from the
        leaf up), so each node's part of it is hex-encoded and written once and shared by the leaves below,
        rather than k log n hashes encoded and serialised one by one.
        """
        proofs: dict[int, bytes] = {}
        for start, levels, above, inside in self._parts_with(indices):
            offsets = [index - start for index in inside]
            # Per node on a wanted leaf's path: the rest of the path from there up, as b', "hex", "hex"'.
            upper = {0: b"".join(b', "' + node.hex().encode() + b'"' for node in above)}
            for j in reversed(range(len(levels) - 1)):
                level = levels[j]
                upper = {
                    x: b', "' + level[x ^ 1].hex().encode() + b'"' + upper[x >> 1]
                    for x in sorted({offset >> j for offset in offsets})
                }
            for offset in offsets:
                proofs[start + offset] = b"[" + upper[offset][2:] + b"]"
        return proofs


def inclusion_proofs(leaves: Sequence[bytes], indices: Iterable[int]) -> dict[int, list[bytes]]:
    """RFC 9162 inclusion proofs (audit paths) of many leaves of one tree, sharing the work (see ``_Tree``)."""
    return _Tree(leaves).proofs(indices)


def inclusion_proofs_json(leaves: Sequence[bytes], indices: Iterable[int]) -> dict[int, bytes]:
    """``inclusion_proofs`` as the JSON arrays the ledger slice's lines carry."""
    return _Tree(leaves).proofs_json(indices)


def ledger_jsonl(entries: LedgerSlice, *, leaves: Sequence[bytes] | None = None) -> bytes:
    """One line per entry: its hashed document and hashes, and, given the checkpoint's leaves, the RFC 9162
    inclusion proof of the entry in that checkpoint. The stored canonical bytes are the entry's JCS document,
    so they are written as they are, never parsed and serialised again."""
    indices = [sequence - 1 for sequence in entries.sequences]
    proofs = inclusion_proofs_json(leaves, indices) if leaves is not None else {}
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
        if leaves is not None:
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
