"""Rendering one evidence pack: the summary pages as PDF/A-3b, the full evidence as embedded files.

The pages summarise (bounded tables); the attachments carry every detail, so the page count does not grow
with the size of the ledger. Everything is read once by ``evidence.collect``; the ledger slice is bound to a
signed checkpoint, and ``manifest.json`` lists the SHA-256 of every other embedded file.
"""

import base64
import hashlib
import json
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from django.conf import settings
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.safestring import SafeString
from weasyprint import HTML, Attachment

from accounts.choices import Role
from audit import checkpoints, signing_keys
from audit.canonical import to_jsonable
from audit.models import LedgerCheckpoint
from audit.tree import StoredTree
from audit.verification_keys import ledger_key_fingerprint
from evidence import completeness, signing
from evidence.collect import (
    CONTROL_MAP,
    SECTIONS,
    LedgerSlice,
    PackData,
    collect,
    latest_checkpoint,
    ledger_slice,
)
from evidence.exports import bom_bytes, ledger_jsonl, provenance_bytes, validation_csv
from evidence.fetcher import StaticOnlyFetcher
from governance.charts import CHAR_WIDTH as CHAR_WIDTH  # the pack tests measure labels with it
from governance.choices import LifecycleStage
from governance.models import RaciMatrix, UseCase
from registry.charts import pass_rate_chart
from registry.models import GateDecision, ModelVersion

MANIFEST_KIND = "llm-governance-portal/evidence-pack/v1"
MANIFEST = "manifest.json"
LEDGER = "ledger.jsonl"
PROVENANCE = "provenance.json"
BOM = "bom.cdx.json"
RESULTS = "validation-results.csv"
ATTACHMENT_DESCRIPTIONS = {
    MANIFEST: "SHA-256 of every embedded file, scope, time and ledger checkpoint",
    LEDGER: "The audit ledger slice for the scope, with hashes and Merkle inclusion proofs",
    PROVENANCE: "W3C PROV-JSON provenance of datasets, training, evaluation and approvals",
    BOM: "CycloneDX 1.6 ML-BOM",
    RESULTS: "Every validation result",
}
#: The bounded tables of the pages; the embedded files hold the rest.
PAGE_ROWS = 25

Progress = Callable[[int], None]


@dataclass
class BuiltPack:
    pdf: bytes
    sha256: str
    page_count: int
    checkpoint: LedgerCheckpoint
    manifest: dict[str, Any]


def _static_base_url() -> str:
    roots = list(getattr(settings, "STATICFILES_DIRS", []))
    return Path(roots[0]).resolve().as_uri() + "/" if roots else ""


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def ensure_checkpoint() -> LedgerCheckpoint:
    """A signed checkpoint covering the ledger as it stands now (made if anything was appended since)."""
    checkpoints.ledger_checkpoint_create()
    checkpoint = latest_checkpoint()
    if checkpoint is None:
        raise RuntimeError("The ledger is empty: there is nothing to build evidence from.")
    return checkpoint


#: Column headings of the RACI table, short enough for nine roles across an A4 page; the page prints the legend.
ROLE_ABBREVIATIONS = {
    Role.ML_ENGINEER: "MLE",
    Role.DATA_STEWARD: "DS",
    Role.LEGAL_REVIEWER: "LR",
    Role.SECURITY_REVIEWER: "SR",
    Role.COMPLIANCE_REVIEWER: "CR",
    Role.RISK_OFFICER: "RO",
    Role.PRODUCT_OWNER: "PO",
    Role.CHANGE_ADVISORY_BOARD: "CAB",
    Role.AUDITOR: "AUD",
}


def dimension_chart(model_versions: list[ModelVersion]) -> SafeString | None:
    """Inline SVG: per evaluation dimension, the pass rate of each version (of the same model name) at its latest
    gate, the value printed at the end of each bar, and the minimum pass rate of the thresholds as a dashed line.
    Each dimension's label has a line of its own above its bars and the version column is as wide as the longest
    identifier, so no label is cut (drawn by ``governance.charts``, as on the model version page)."""
    names = {mv.name for mv in model_versions}
    use_cases = {mv.use_case_id for mv in model_versions}
    gates = GateDecision.objects.filter(model_version__name__in=names, model_version__use_case__in=use_cases)
    return pass_rate_chart(gates.select_related("model_version"))


def _raci_rows(revision: RaciMatrix | None) -> list[tuple[str, str, list[str]]]:
    grid = revision.grid() if revision is not None else {}
    return [
        (stage, str(label), [grid.get((stage, role), "") for role in Role.values])
        for stage, label in LifecycleStage.choices
    ]


def _policy_controls(data: PackData) -> list[tuple[Any, list[str]]]:
    mapping: dict[Any, set[str]] = {}
    for constraint in data.constraints:
        for policy in constraint.policies.all():
            for control in policy.controls.all():
                mapping.setdefault(control, set()).add(policy.code)
    return sorted(((c, sorted(p)) for c, p in mapping.items()), key=lambda item: str(item[0]))


def checkpoint_document(checkpoint: LedgerCheckpoint) -> dict[str, Any]:
    """The signed checkpoint as a manifest carries it: its statement, signature and the key that verifies it."""
    return {
        "statement": json.loads(bytes(checkpoint.statement)),
        "signature": base64.b64encode(bytes(checkpoint.signature)).decode(),
        "public_key": base64.b64encode(signing_keys.public_key_bytes()).decode(),
        "tree_size": checkpoint.tree_size,
        "root_hash": checkpoint.root_hash_hex,
    }


def attachments_for(
    data: PackData,
    checkpoint: LedgerCheckpoint,
    *,
    generated_at: datetime,
    pack_number: object,
    scope_heads: dict[str, Any],
) -> tuple[dict[str, bytes], LedgerSlice]:
    """The embedded files (manifest last, over the others) and the ledger slice they were made from; ``scope_heads`` is
    the ``completeness`` section read with ``checkpoint`` (``evidence.completeness``)."""
    entries = ledger_slice(data.ledger_refs, up_to=checkpoint.tree_size)
    files = {
        LEDGER: ledger_jsonl(entries, tree=StoredTree(checkpoint.tree_size)),
        PROVENANCE: provenance_bytes(data),
        BOM: bom_bytes(data),
        RESULTS: validation_csv(data),
    }
    manifest = {
        "kind": MANIFEST_KIND,
        "pack": pack_number,
        "generated_at": generated_at,
        "scope": {
            "kind": "model_version" if data.subject is not None else "use_case",
            "use_case": data.use_case.slug,
            "model_version": data.subject.identifier if data.subject is not None else None,
        },
        "checkpoint": checkpoint_document(checkpoint),
        "ledger_slice": {
            "entries": len(entries),
            "first_sequence": entries.first_sequence,
            "last_sequence": entries.last_sequence,
        },
        "completeness": scope_heads,
        "files": {name: {"sha256": _sha(body), "size": len(body)} for name, body in sorted(files.items())},
    }
    files[MANIFEST] = json.dumps(to_jsonable(manifest), indent=2, sort_keys=True).encode()
    return files, entries


def render_pdf(
    html: str, files: dict[str, bytes], *, generated_at: datetime, descriptions: dict[str, str] | None = None
) -> tuple[bytes, int]:
    """PDF/A-3b with ``files`` embedded (each described by ``descriptions``, else as a pack's file of that name);
    returns the bytes and the page count. Nothing is fetched but ``data:`` URLs and the project's static files."""
    described = {**ATTACHMENT_DESCRIPTIONS, **(descriptions or {})}
    fetcher = StaticOnlyFetcher()
    document = HTML(string=html, base_url=_static_base_url(), url_fetcher=fetcher).render()
    naive = generated_at.astimezone(UTC).replace(tzinfo=None)
    attachments = [
        Attachment(
            string=body,
            name=name,
            description=described.get(name),
            url_fetcher=fetcher,
            relationship="Data" if name != MANIFEST else "Supplement",
            created=naive,
            modified=naive,
        )
        for name, body in files.items()
    ]
    pdf = document.write_pdf(pdf_variant="pdf/a-3b", attachments=attachments)
    return pdf, len(document.pages)


def build_pack(
    *,
    use_case: UseCase,
    model_version: ModelVersion | None = None,
    pack_number: object = None,
    progress: Progress | None = None,
) -> BuiltPack:
    """Read, summarise and render; no database writes but the checkpoint (if the ledger grew since the last)."""
    report = progress or (lambda _percent: None)
    ensure_checkpoint()
    report(10)
    data = collect(use_case=use_case, model_version=model_version)
    report(30)
    generated_at = timezone.now()
    # The newest checkpoint (this one, or a later) read with the object heads of the scope, which it signed.
    heads = completeness.scope_heads(data.ledger_refs)
    checkpoint = heads.checkpoint
    files, entries = attachments_for(
        data, checkpoint, generated_at=generated_at, pack_number=pack_number, scope_heads=heads.section
    )
    report(50)
    manifest = json.loads(files[MANIFEST])
    actions = Counter(entries.actions)
    context = {
        "pack_number": pack_number if pack_number is not None else "",
        "scope_label": data.subject.identifier if data.subject is not None else f"use case {use_case.slug}",
        "generated_at": generated_at,
        "data": data,
        "sections": SECTIONS,
        "roles": [(role, ROLE_ABBREVIATIONS[role]) for role in Role.values],
        "raci_tables": [(signed, _raci_rows(signed.record)) for signed in data.raci_revisions],
        "raci_in_force": data.raci_in_force,
        "gates": [(signed, [f for _d, f in sorted(signed.record.figures.items())]) for signed in data.gates],
        "chart": dimension_chart(data.model_versions),
        "events": data.deployment_events[-PAGE_ROWS:],
        "incidents": data.incidents[:PAGE_ROWS],
        "monitoring": data.monitoring[:PAGE_ROWS],
        "provenance": [(c, c.missing[:PAGE_ROWS], max(len(c.missing) - PAGE_ROWS, 0)) for c in data.provenance],
        "control_map": [
            (framework, requirement, [(a, dict(SECTIONS)[a]) for a in anchors])
            for framework, requirement, anchors in CONTROL_MAP
        ],
        "policy_controls": _policy_controls(data),
        "ledger_count": len(entries),
        "ledger_first": entries.first_sequence,
        "ledger_last": entries.last_sequence,
        "ledger_actors": len(set(entries.actor_names)),
        "ledger_actions": sorted(actions.items()),
        "checkpoint": checkpoint,
        "checkpoint_signature": manifest["checkpoint"]["signature"],
        "completeness_rule": heads.section["rule"],
        "files": sorted(manifest["files"].items()),
    }
    context["signing_certificate"] = signing.describe(signing.certificate())
    context["ledger_key_fingerprint"] = ledger_key_fingerprint(checkpoint.key_id)
    html = render_to_string("evidence/pack.html", context)
    report(60)
    pdf, pages = render_pdf(html, files, generated_at=generated_at)
    report(85)
    pdf = signing.sign_pack(pdf)
    report(95)
    return BuiltPack(pdf=pdf, sha256=_sha(pdf), page_count=pages, checkpoint=checkpoint, manifest=manifest)
