"""The output provenance statement: one or two signed PDF/A pages read back with pypdf, showing the version, the
ticket, the thresholds and the reviewer; the standalone verifier's command line, run as an auditor runs it, passes
every check of a pack and the answer record on it, and refuses an altered record, a wrong proof and a batch entry
sealing another root; the download is an access event, and only Auditors and Risk Officers may take it. The
portal's own ``verify_evidence_pack`` accepts a statement it issued (by download), and refuses one it never handed
out or whose record was changed since."""

import base64
import io
import json
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.core.management import CommandError, call_command
from evidence_pack_verifier import checks_for, trust
from evidence_pack_verifier import signature as document_signature
from evidence_pack_verifier.pack import Pack
from pypdf import PdfReader

from audit import merkle
from audit.models import AccessEvent, LedgerEntry
from audit.verification_keys import published
from evidence.output_statement import STATEMENT_KIND, build_output_statement, output_statement_download
from inference.models import InferenceRecord
from inference.proofs import row_leaf_data
from tests.api.conftest import issue  # noqa: F401 - fixture
from tests.evidence.helpers import attachments, sha256, text
from tests.inference.conftest import intake, spans  # noqa: F401 - fixtures
from tests.inference.tracing import (
    COMPLAINT_ANSWER,
    RESPONSE_ID,
    ROLLBACK_REASON,
    answered_after_a_rollback,
    answered_through_a_reviewed_gate,
)
from tests.verifier import forgery
from tests.verifier.conftest import run_verifier, write_keys

pytestmark = pytest.mark.django_db

OTHERS = 2  # answers recorded in the complaint's batch beside it


@pytest.fixture
def answered(world, intake, spans):  # noqa: F811
    return answered_through_a_reviewed_gate(world, intake, spans, others=OTHERS)


@pytest.fixture
def after_rollback(world, intake, spans):  # noqa: F811
    return answered_after_a_rollback(world, intake, spans)


@pytest.fixture
def statement(answered):
    return build_output_statement(record=answered.record)


def test_the_statement_names_the_version_the_ticket_the_thresholds_and_the_reviewer(answered, statement) -> None:
    pages = PdfReader(io.BytesIO(statement.pdf)).pages
    shown = text(statement.pdf)

    assert 1 <= len(pages) <= 2
    assert answered.model_version.identifier in shown
    assert answered.ticket.identifier in shown
    assert "MLOPS-42" in shown
    assert str(answered.gate.threshold_policy) in shown
    for figure in answered.gate.figures.values():
        if figure["min_pass_rate"] is not None:
            assert f"{figure['min_pass_rate']}%" in shown
    reviewer = answered.gate.human_reviewer
    assert f"human reviewer {reviewer.get_full_name() or reviewer.get_username()}" in shown
    assert "support-chats@1" in shown
    assert "pci_redaction, disclaimer" in shown
    assert "Escalated to a human" in shown
    assert "INVALIDATED" not in shown


def test_the_statement_of_an_answer_after_a_rollback_names_the_rollback_and_the_restored_versions_ticket(
    after_rollback,
) -> None:
    built = build_output_statement(record=after_rollback.record)
    shown = text(built.pdf)

    assert 1 <= built.page_count <= 2
    rollback, incident = after_rollback.rollback, str(after_rollback.rollback.incident).split()[0]
    assert f"Rolled back on {rollback.happened_at:%Y-%m-%d %H:%M:%S} UTC by risk (incident {incident}" in shown
    assert ROLLBACK_REASON in shown
    assert "Promoted there by" in shown
    assert f"{after_rollback.model_version.identifier} (weights" in shown
    assert f"{after_rollback.ticket.identifier} (MLOPS-42), Deployed" in shown


def test_the_statement_is_pdfa_and_carries_the_record_its_proof_and_the_batch_entry_but_not_the_answer(
    answered, statement
) -> None:
    files = attachments(statement.pdf)
    manifest = json.loads(files["manifest.json"])
    record = json.loads(files["record.json"])
    [entry] = [json.loads(line) for line in files["ledger.jsonl"].splitlines()]

    xmp = PdfReader(io.BytesIO(statement.pdf)).xmp_metadata.rdf_root.toxml()
    assert 'pdfaid:part="3"' in xmp
    assert 'pdfaid:conformance="B"' in xmp
    assert manifest["kind"] == STATEMENT_KIND
    assert manifest["scope"]["response_id"] == answered.record.response_id
    assert {name: item["sha256"] for name, item in manifest["files"].items()} == {
        name: sha256(files[name]) for name in ("ledger.jsonl", "record.json")
    }
    proof = record["inclusion_proof"]
    assert merkle.verify_inclusion(
        leaf_hash=bytes.fromhex(record["leaf_hash"]),
        index=proof["index"],
        tree_size=proof["tree_size"],
        proof=[bytes.fromhex(node) for node in proof["path"]],
        root=bytes.fromhex(proof["root"]),
    )
    assert entry["entry"]["payload"]["inference_batch"]["merkle_root"] == proof["root"]
    assert entry["entry"]["sequence"] == answered.record.batch.ledger_sequence
    assert record["record"]["answer_hmac"] == answered.record.answer_hmac
    assert COMPLAINT_ANSWER.encode() not in statement.pdf
    assert all(COMPLAINT_ANSWER.encode() not in body for body in files.values())


def test_the_statement_signature_passes_the_standalone_verifiers_document_signature_check(statement) -> None:
    verdict = document_signature.check(Pack(statement.pdf), trust.parse(published()))

    assert verdict.startswith("PAdES over the whole file, intact")


def test_a_changed_statement_fails_the_document_signature_check(statement) -> None:
    changed = statement.pdf.replace(b"Output provenance statement", b"Output provenance statemenT", 1)

    with pytest.raises(Exception, match=r"does not match|cannot be validated|not a readable"):
        document_signature.check(Pack(changed), trust.parse(published()))


def test_downloading_the_statement_is_an_access_event_in_the_ledger(answered, world) -> None:
    statement = output_statement_download(record=answered.record, user=world["auditor"])

    event = AccessEvent.objects.get(object_type="inference.inferencerecord")
    assert (event.user, event.kind, event.object_id) == (world["auditor"], "download", str(answered.record.pk))
    assert event.detail["sha256"] == statement.sha256
    entry = LedgerEntry.objects.get(action="download", object_type="inference.inferencerecord")
    assert entry.payload["access_event"] == event.pk
    assert entry.actor == world["auditor"]


@pytest.mark.parametrize("username", ["risk"])
def test_a_risk_officer_may_take_the_statement(answered, world, username) -> None:
    assert output_statement_download(record=answered.record, user=world[username]).pdf.startswith(b"%PDF")


@pytest.mark.parametrize("username", ["mleng", "legal", "compliance", "cab"])
def test_other_roles_are_refused_the_statement_and_the_refusal_is_recorded(answered, world, username) -> None:
    with pytest.raises(PermissionDenied, match="Only Auditors and Risk Officers"):
        output_statement_download(record=answered.record, user=world[username])

    assert not AccessEvent.objects.filter(object_type="inference.inferencerecord").exists()
    denial = LedgerEntry.objects.get(action="denied", object_type="inference.inferencerecord")
    assert denial.actor == world[username]


def test_the_statement_of_a_reviewed_answer_names_the_reviewer_and_carries_the_reviews_ledger_entry(
    answered, world
) -> None:
    from inference.reviews import answer_review_decide

    review = answer_review_decide(
        record=answered.record, actor=world["mleng"], decision="overridden", reason="The refund date was wrong."
    )

    statement = build_output_statement(record=answered.record)

    shown = text(statement.pdf)
    assert f"Overridden by the reviewer by {world['mleng'].get_full_name()}" in " ".join(shown.split())
    assert "The refund date was wrong." in " ".join(shown.split())
    entries = [json.loads(line)["entry"] for line in attachments(statement.pdf)["ledger.jsonl"].splitlines()]
    assert [entry["sequence"] for entry in entries] == [answered.record.batch.ledger_sequence, review.ledger_sequence]
    assert entries[1]["payload"]["answer_review"]["decision"] == "overridden"


def verified(pdf: bytes, keys: Path, folder: Path) -> tuple[int, list[str]]:
    """``verify-evidence-pack statement.pdf --trust keys.json`` as an auditor runs it: exit status and lines."""
    path = folder / "statement.pdf"
    path.write_bytes(pdf)
    result = run_verifier(path, "--trust", keys, cwd=folder)
    assert result.stderr == ""
    return result.returncode, result.stdout.splitlines()


def record_of(pdf: bytes) -> dict:
    return json.loads(attachments(pdf)["record.json"])


def record_file(document: dict) -> bytes:
    return json.dumps(document, indent=2, sort_keys=True).encode()


def insider_signed(pdf: bytes) -> bytes:
    """Signed again with the portal's own evidence signing certificate, as only an insider could."""
    return forgery.signed(pdf, settings.EVIDENCE_SIGNING_KEY_FILE, settings.EVIDENCE_SIGNING_CERT_FILE)


def test_a_genuine_statement_passes_every_check_of_the_verifiers_command_line(statement, tmp_path) -> None:
    status, lines = verified(statement.pdf, write_keys(tmp_path / "keys.json"), tmp_path)

    assert status == 0, lines
    checks = [check.name for check in checks_for(STATEMENT_KIND)]
    assert checks == [
        "document signature",
        "embedded files",
        "checkpoint signature",
        "hash chain",
        "Merkle inclusion",
        "completeness",
        "answer record",
    ]
    assert [line.split(":")[0] for line in lines[:-1]] == [f"ok  {name}" for name in checks]
    assert lines[-2] == (
        f"ok  answer record: the record of response {RESPONSE_ID!r} (trace {statement.manifest['scope']['trace_id']}, "
        f"span {statement.manifest['scope']['span_id']}) is leaf 0 of the {OTHERS + 1} records of batch "
        f"{record_of(statement.pdf)['batch']['id']}, whose root ledger entry "
        f"#{record_of(statement.pdf)['batch']['ledger_sequence']} sealed"
    )
    assert lines[-1].startswith("Output provenance statement verified:")


def test_a_statement_whose_record_was_altered_and_embedded_again_is_refused_naming_the_record(
    statement, tmp_path
) -> None:
    """The record says the answer passed instead of being escalated: signed again by a forger, the signature fails;
    by an insider, the manifest's digest; with the manifest updated too, the record no longer hashes to its leaf; with
    the leaf hash updated as well, the leaf is not in the batch's sealed root."""
    keys = write_keys(tmp_path / "keys.json")
    unsigned = forgery.unsigned_revision(statement.pdf)
    document = record_of(unsigned)
    document["record"]["response_classification"] = "pass"
    altered = record_file(document)
    named = f"answer record: the record of response {RESPONSE_ID!r}"

    by_forger = forgery.signed(
        forgery.with_manifest_consistent(unsigned, {"record.json": altered}), *forgery.forgers_certificate(tmp_path)
    )
    stale_manifest = insider_signed(forgery.with_attachments(unsigned, {"record.json": altered}))
    manifest_updated = insider_signed(forgery.with_manifest_consistent(unsigned, {"record.json": altered}))
    document["leaf_hash"] = merkle.leaf_hash(row_leaf_data(document["record"])).hex()
    leaf_updated = insider_signed(forgery.with_manifest_consistent(unsigned, {"record.json": record_file(document)}))

    found = {
        name: verified(pdf, keys, tmp_path)
        for name, pdf in {
            "by forger": by_forger,
            "stale manifest": stale_manifest,
            "manifest updated": manifest_updated,
            "leaf updated": leaf_updated,
        }.items()
    }

    assert {name: status for name, (status, _lines) in found.items()} == dict.fromkeys(found, 1)
    assert found["by forger"][1][-1].startswith(
        "FAILED document signature: the document signature was not made with a trusted signing certificate"
    )
    assert found["stale manifest"][1][-1].startswith("FAILED embedded files: record.json was altered")
    assert found["manifest updated"][1][-1].startswith(f"FAILED {named}")
    assert found["manifest updated"][1][-1].endswith("does not hash to the leaf record.json states: it was changed")
    assert found["leaf updated"][1][-1].startswith(f"FAILED {named}")
    assert "is not included in the root ledger entry" in found["leaf updated"][1][-1]
    assert any(line.startswith("ok  completeness:") for line in found["leaf updated"][1])


def test_a_record_whose_proof_path_is_wrong_is_refused(statement, tmp_path) -> None:
    unsigned = forgery.unsigned_revision(statement.pdf)
    document = record_of(unsigned)
    assert len(document["inclusion_proof"]["path"]) == 2  # three records: a sibling leaf, then a subtree
    document["inclusion_proof"]["path"].reverse()
    wrong = insider_signed(forgery.with_manifest_consistent(unsigned, {"record.json": record_file(document)}))

    status, lines = verified(wrong, write_keys(tmp_path / "keys.json"), tmp_path)

    assert status == 1
    assert lines[-1].startswith(f"FAILED answer record: the record of response {RESPONSE_ID!r}")
    assert f"is not included in the root ledger entry #{document['batch']['ledger_sequence']} sealed" in lines[-1]


def test_a_batch_entry_sealing_another_root_is_refused_though_its_ledger_proof_holds(statement, tmp_path) -> None:
    """A statement whose batch entry states another root, its chain, Merkle tree and checkpoint made again and the
    checkpoint signed with a key the auditor trusts (as a faulty portal would issue it): every ledger check passes,
    the answer record does not."""
    unsigned = forgery.unsigned_revision(statement.pdf)
    original = json.loads(attachments(unsigned)["manifest.json"])
    other_root = "ab" * 32
    rows = forgery.rechained(
        forgery.ledger_lines(unsigned), lambda entry: entry["payload"]["inference_batch"].update(merkle_root=other_root)
    )
    tree_size = original["checkpoint"]["tree_size"]
    hashes = LedgerEntry.objects.filter(sequence__lte=tree_size).order_by("sequence").values_list("entry_hash")
    rows, root = forgery.reproved(rows, [bytes(value) for (value,) in hashes])
    key, key_id = forgery.ed25519_key()
    checkpoint = {**original["checkpoint"]["statement"], "root_hash": root.hex(), "key_id": key_id}
    ledger = forgery.jsonl(rows)
    files = {**original["files"], "ledger.jsonl": {"sha256": sha256(ledger), "size": len(ledger)}}
    forged = {**forgery.with_checkpoint(original, checkpoint, key), "files": files}
    pdf = insider_signed(
        forgery.with_attachments(
            unsigned, {"ledger.jsonl": ledger, "manifest.json": json.dumps(forged, indent=2, sort_keys=True).encode()}
        )
    )
    keys = published()
    public = key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    keys["ledger_checkpoint_keys"].append(
        {"key_id": key_id, "public_key": base64.b64encode(public).decode(), "sha256_fingerprint": sha256(public)}
    )
    (tmp_path / "keys.json").write_text(json.dumps(keys))

    status, lines = verified(pdf, tmp_path / "keys.json", tmp_path)

    assert status == 1
    assert [line.split(":")[0] for line in lines[:-1]] == [
        f"ok  {check.name}" for check in checks_for(STATEMENT_KIND)[:-1]
    ]
    record = record_of(unsigned)
    assert lines[-1] == (
        f"FAILED answer record: record.json proves the record of response {RESPONSE_ID!r} (trace "
        f"{record['record']['trace_id']}, span {record['record']['span_id']}) into root "
        f"{record['inclusion_proof']['root']} of {OTHERS + 1} records, but ledger entry "
        f"#{record['batch']['ledger_sequence']} sealed batch {record['batch']['id']} with root {other_root} of "
        f"{OTHERS + 1} records"
    )


def portal_verified(pdf: bytes, folder: Path) -> str:
    """``manage.py verify_evidence_pack statement.pdf``: the portal's own check, offline checks then this database's."""
    path = folder / "statement.pdf"
    path.write_bytes(pdf)
    out = io.StringIO()
    call_command("verify_evidence_pack", str(path), stdout=out)
    return out.getvalue()


def portal_refused(pdf: bytes, folder: Path) -> str:
    with pytest.raises(CommandError) as raised:
        portal_verified(pdf, folder)
    assert raised.value.returncode == 1
    return str(raised.value)


def test_the_portal_verifies_a_statement_it_issued_naming_the_download_that_issued_it(answered, world, tmp_path):
    statement = output_statement_download(record=answered.record, user=world["auditor"])

    lines = portal_verified(statement.pdf, tmp_path).splitlines()

    checks = [check.name for check in checks_for(STATEMENT_KIND)]
    assert [line.split(":")[0] for line in lines[:-1]] == [f"ok  {name}" for name in checks]
    download = AccessEvent.objects.get(kind="download", object_type="inference.inferencerecord")
    assert lines[-1].startswith(f"Output provenance statement OK: SHA-256 {statement.sha256}, issued to auditor at ")
    assert f"(access event #{download.pk})" in lines[-1]
    assert lines[-1].endswith("the answer's record unchanged in this database.")


def test_the_portal_refuses_a_genuinely_signed_statement_no_download_issued(answered, tmp_path) -> None:
    """Signed with the portal's key but never handed out (built outside a download): not one the portal issued."""
    statement = build_output_statement(record=answered.record)

    assert f"No output provenance statement with SHA-256 {statement.sha256} was issued" in portal_refused(
        statement.pdf, tmp_path
    )


def test_the_portal_refuses_a_statement_whose_record_was_changed_in_the_database_since(answered, world, tmp_path):
    statement = output_statement_download(record=answered.record, user=world["auditor"])
    InferenceRecord.objects.filter(pk=answered.record.pk).update(response_classification="pass")

    reason = portal_refused(statement.pdf, tmp_path)

    assert f"(trace {answered.record.trace_id}, span {answered.record.span_id})" in reason
    assert "differs from the statement's: it was changed after it was sealed" in reason


def test_a_statement_still_verifies_once_retention_purged_its_record(answered, world, tmp_path) -> None:
    statement = output_statement_download(record=answered.record, user=world["auditor"])
    InferenceRecord.objects.filter(pk=answered.record.pk).delete()

    assert (
        portal_verified(statement.pdf, tmp_path)
        .splitlines()[-1]
        .endswith("the answer's record purged from this database since (retention); the statement's proof still holds.")
    )
