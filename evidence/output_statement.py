"""The output provenance statement: one answer's trace (``inference.trace``) on one or two pages, for a complaint or
a regulator's request, built and signed like an evidence pack.

It is PDF/A-3b rendered by the pack's renderer (the same static-only URL fetcher), signed over every byte with the
evidence signing certificate (``evidence.signing.sign_pack``), so an auditor's PDF reader, pyHanko or the standalone
verifier's document-signature check accept it. Embedded beside the pages: ``record.json`` (the record's fields as
its Merkle leaf hashes them, and its inclusion proof into its batch's root), ``ledger.jsonl`` (the batch's ledger
entry, which seals that root, and the human reviewer's decision if the answer was escalated and reviewed, each with
its inclusion proof into the checkpoint) and ``manifest.json`` (the SHA-256 of
both, the scope, the signed checkpoint, and, as a pack's, the slice's count and the ``completeness`` section that proves
``ledger.jsonl`` holds every entry about the batch and the review). The answer's text is in none of them: only its
HMAC. So the standalone verifier runs every check of a pack on it, and one of its own, "answer record": the record's
leaf proves into the root the batch's ledger entry sealed.

Each download is an access event in the ledger; a refusal is recorded too.
"""

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.template.loader import render_to_string
from django.utils import timezone

from accounts.authz import roles_of
from accounts.choices import Role
from audit.access import access_record
from audit.canonical import model_label, to_jsonable
from audit.choices import AccessKind
from audit.ledger import ActionDenied, denials_recorded
from audit.tree import StoredTree
from audit.verification_keys import ledger_key_fingerprint
from evidence import completeness, signing
from evidence.builder import MANIFEST, checkpoint_document, ensure_checkpoint, render_pdf
from evidence.collect import ledger_slice
from evidence.exports import ledger_jsonl
from inference.models import InferenceRecord
from inference.proofs import leaf_document
from inference.reviews import REVIEW_OBJECT_TYPE
from inference.trace import Trace, gate_outcome_label, trace

STATEMENT_KIND = "llm-governance-portal/output-provenance-statement/v1"
#: How a statement's download names what it handed out (``detail.document`` of its access event).
STATEMENT_DOCUMENT = "output provenance statement"
RECORD = "record.json"
LEDGER = "ledger.jsonl"
#: Who may trace an answer and take its statement away.
DESCRIPTIONS = {
    RECORD: "The inference record as its Merkle leaf hashes it, and its inclusion proof into its batch's root",
    LEDGER: "The batch's ledger entry sealing that root (and the human review's, if escalated), with inclusion proofs "
    "into the checkpoint",
    MANIFEST: "SHA-256 of every embedded file, the answer traced, time and ledger checkpoint",
}
TRACING_ROLES = (Role.AUDITOR, Role.RISK_OFFICER)


@dataclass
class BuiltStatement:
    pdf: bytes
    sha256: str
    page_count: int
    manifest: dict[str, Any]


def may_trace(user: AbstractBaseUser) -> bool:
    """Auditors and Risk Officers, through a role they hold by an approved grant (not as administrators)."""
    return bool(roles_of(user) & {str(role) for role in TRACING_ROLES})


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _record_file(found: Trace) -> bytes:
    proof = found.proof
    document = {
        "record": leaf_document(found.record),
        "leaf_hash": proof.leaf_hash.hex(),
        "inclusion_proof": {
            "index": proof.index,
            "tree_size": proof.tree_size,
            "path": [node.hex() for node in proof.path],
            "root": proof.root.hex(),
            "holds": proof.holds(),
        },
        "batch": {"id": found.record.batch_id, "ledger_sequence": proof.ledger_sequence},
    }
    return json.dumps(to_jsonable(document), indent=2, sort_keys=True).encode()


def build_output_statement(*, record: InferenceRecord) -> BuiltStatement:
    """Trace ``record``, render the statement and sign it. No database writes but the checkpoint (if the ledger
    grew since the last)."""
    ensure_checkpoint()
    found = trace(record)
    generated_at = timezone.now()
    refs = {(model_label(found.record.batch), str(found.record.batch_id))}
    if found.review is not None:  # the reviewer's decision is sealed by its own entry, named by the record's id
        refs.add((REVIEW_OBJECT_TYPE, str(found.record.pk)))
    # The newest checkpoint (this one, or a later) read with the object heads of the scope, which it signed.
    heads = completeness.scope_heads(refs)
    checkpoint = heads.checkpoint
    entries = ledger_slice(refs, up_to=checkpoint.tree_size)
    files = {RECORD: _record_file(found), LEDGER: ledger_jsonl(entries, tree=StoredTree(checkpoint.tree_size))}
    manifest = {
        "kind": STATEMENT_KIND,
        "generated_at": generated_at,
        "scope": {
            "kind": "inference_record",
            "use_case": found.record.use_case.slug,
            "model_version": found.model_version.identifier if found.model_version is not None else None,
            "trace_id": found.record.trace_id,
            "span_id": found.record.span_id,
            "response_id": found.record.response_id,
        },
        "checkpoint": checkpoint_document(checkpoint),
        "ledger_slice": {
            "entries": len(entries),
            "first_sequence": entries.first_sequence,
            "last_sequence": entries.last_sequence,
        },
        "completeness": heads.section,
        "files": {name: {"sha256": _sha(body), "size": len(body)} for name, body in sorted(files.items())},
    }
    files[MANIFEST] = json.dumps(to_jsonable(manifest), indent=2, sort_keys=True).encode()
    context = {
        "trace": found,
        "record": found.record,
        "gate_outcome": gate_outcome_label(found.gate),
        "generated_at": generated_at,
        "checkpoint": checkpoint,
        "signing_certificate": signing.describe(signing.certificate()),
        "ledger_key_fingerprint": ledger_key_fingerprint(checkpoint.key_id),
        "files": sorted(manifest["files"].items()),
    }
    html = render_to_string("evidence/output_statement.html", context)
    pdf, pages = render_pdf(html, files, generated_at=generated_at, descriptions=DESCRIPTIONS)
    pdf = signing.sign_pack(pdf)
    return BuiltStatement(pdf=pdf, sha256=_sha(pdf), page_count=pages, manifest=manifest)


def output_statement_download(*, record: InferenceRecord, user: AbstractBaseUser) -> BuiltStatement:
    """The statement of ``record`` for ``user``, the download recorded in the ledger as an access event; a refusal
    is recorded too."""
    with denials_recorded():
        if not may_trace(user):
            raise ActionDenied(
                "Only Auditors and Risk Officers may take an output provenance statement.",
                actor=user,
                attempted="download output provenance statement",
                obj=record,
            )
    statement = build_output_statement(record=record)
    access_record(
        user=user,
        kind=AccessKind.DOWNLOAD,
        obj=record,
        detail={
            "sha256": statement.sha256,
            "format": "pdf",
            "document": STATEMENT_DOCUMENT,
            "response_id": record.response_id,
        },
    )
    return statement
