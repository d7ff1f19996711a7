"""The output provenance statement: one or two signed PDF/A pages read back with pypdf, showing the version, the
ticket, the thresholds and the reviewer; its document signature verifies as a pack's does; the download is an
access event, and only Auditors and Risk Officers may take it."""

import io
import json

import pytest
from django.core.exceptions import PermissionDenied
from evidence_pack_verifier import signature as document_signature
from evidence_pack_verifier import trust
from evidence_pack_verifier.pack import Pack
from pypdf import PdfReader

from audit import merkle
from audit.models import AccessEvent, LedgerEntry
from audit.verification_keys import published
from evidence.output_statement import STATEMENT_KIND, build_output_statement, output_statement_download
from tests.api.conftest import issue  # noqa: F401 - fixture
from tests.evidence.helpers import attachments, sha256, text
from tests.inference.conftest import intake, spans  # noqa: F401 - fixtures
from tests.inference.tracing import COMPLAINT_ANSWER, answered_through_a_reviewed_gate

pytestmark = pytest.mark.django_db


@pytest.fixture
def answered(world, intake, spans):  # noqa: F811
    return answered_through_a_reviewed_gate(world, intake, spans)


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
