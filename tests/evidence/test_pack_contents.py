"""An evidence pack read back with pypdf: its pages, its signatures, its embedded evidence, its PDF/A identity."""

import io
import json

import pytest
from cyclonedx.schema import SchemaVersion
from cyclonedx.validation.json import JsonStrictValidator
from django.core.management import call_command
from prov.model import ProvDocument
from pypdf import PdfReader

from audit.models import LedgerEntry
from audit.signatures import signatures_for
from evidence.collect import SECTIONS
from evidence.models import EvidencePack
from tests.evidence.helpers import attachments, manifest, sha256, text
from tests.registry.conftest import version

pytestmark = pytest.mark.django_db

EMBEDDED = {"manifest.json", "ledger.jsonl", "provenance.json", "bom.cdx.json", "validation-results.csv"}


@pytest.fixture
def pack_pdf(promoted, tmp_path) -> bytes:
    output = tmp_path / "pack.pdf"
    call_command("build_evidence_pack", "--model-version", promoted.identifier, "--output", str(output))
    return output.read_bytes()


def test_pack_pages_show_every_section_and_every_signature_manifestation(pack_pdf, promoted) -> None:
    pages = text(pack_pdf)
    for number, (_anchor, title) in enumerate(SECTIONS, start=1):
        assert f"{number}. {title}" in pages, title
    flattened = " ".join(pages.split())
    in_scope = [version("support-chats@1"), *promoted.tickets.all()]
    signatures = [signature for record in in_scope for signature, _valid in signatures_for(record)]
    assert len(signatures) >= 5
    for signature in signatures:
        when = signature.signed_at.strftime("%Y-%m-%d %H:%M:%S")
        assert f"Signed by {signature.printed_name}, {when} UTC, meaning: {signature.meaning}" in flattened
    assert "(valid)" in flattened
    assert promoted.identifier in pages


def test_pack_embeds_its_evidence_with_digests_matching_the_manifest_and_is_pdfa_3b(pack_pdf, promoted) -> None:
    files = attachments(pack_pdf)
    assert set(files) == EMBEDDED
    listed = manifest(pack_pdf)
    assert set(listed["files"]) == EMBEDDED - {"manifest.json"}
    for name, entry in listed["files"].items():
        assert sha256(files[name]) == entry["sha256"], name
    assert listed["scope"] == {
        "kind": "model_version",
        "use_case": "support-assistant",
        "model_version": "support-assistant:1",
    }
    assert listed["checkpoint"]["tree_size"] >= listed["ledger_slice"]["last_sequence"]
    lines = files["ledger.jsonl"].splitlines()
    assert len(lines) == listed["ledger_slice"]["entries"] > 0
    sequences = [json.loads(line)["entry"]["sequence"] for line in lines]
    model_entries = LedgerEntry.objects.filter(
        object_type="registry.modelversion", object_id=str(promoted.pk), sequence__lte=listed["checkpoint"]["tree_size"]
    )
    assert set(model_entries.values_list("sequence", flat=True)) <= set(sequences)
    assert b"support-assistant:1" in files["validation-results.csv"]

    reader = PdfReader(io.BytesIO(pack_pdf))
    xmp = reader.xmp_metadata.rdf_root.toxml()
    assert 'pdfaid:part="3"' in xmp
    assert 'pdfaid:conformance="B"' in xmp
    pack = EvidencePack.objects.get()
    assert pack.sha256 == sha256(pack_pdf)
    assert pack.page_count == len(reader.pages)
    assert pack.status == "ready"


def test_embedded_bom_is_valid_cyclonedx_and_provenance_loads_as_w3c_prov(pack_pdf) -> None:
    files = attachments(pack_pdf)
    errors = JsonStrictValidator(SchemaVersion.V1_6).validate_str(files["bom.cdx.json"].decode())
    assert errors is None, errors
    bom = json.loads(files["bom.cdx.json"])
    kinds = {component["type"] for component in bom["components"]}
    assert kinds == {"machine-learning-model", "data"}
    model = next(c for c in bom["components"] if c["type"] == "machine-learning-model")
    assert model["modelCard"]["considerations"]["useCases"]
    data = next(c for c in bom["components"] if c["type"] == "data")
    names = {p["name"] for p in data["properties"]}
    assert {"portal:legalBasis", "portal:approver"} <= names

    document = ProvDocument.deserialize(content=files["provenance.json"].decode(), format="json")
    labels = {str(record.label) for record in document.get_records() if record.label}
    assert "support-assistant:1" in labels
    assert "support-chats@1" in labels
    assert document.get_records()


def test_a_signature_invalidated_by_a_later_change_shows_as_invalidated(promoted, tmp_path) -> None:
    """Tampering around the services (a direct save, as a database administrator could) changes the signed
    digest: the pack must say so rather than show the approvals as they were."""
    ticket = promoted.tickets.get(environment="prod")
    ticket.risk_assessment = "Rewritten after the approvals."
    ticket.save()
    output = tmp_path / "pack.pdf"
    call_command("build_evidence_pack", "--model-version", promoted.identifier, "--output", str(output))
    flattened = " ".join(text(output.read_bytes()).split())
    approvals = [signature for signature, _valid in signatures_for(ticket)]
    assert approvals
    for signature in approvals:
        assert f"meaning: {signature.meaning} INVALIDATED: the record changed after signing" in flattened
