"""verify_evidence_pack: a pack as issued verifies; a flipped byte or a ledger rewritten afterwards does not."""

import io

import pytest
from django.core.management import CommandError, call_command
from evidence_pack_verifier import checks_for
from evidence_pack_verifier.formats import MANIFEST_KIND

from audit.models import LedgerEntry
from tests.evidence.helpers import manifest, with_attachment_changed
from tests.tampering import triggers_lifted

pytestmark = pytest.mark.django_db(transaction=False)


@pytest.fixture
def pack_file(world, tmp_path):
    model_version = world.model()
    world.gate(model_version)
    output = tmp_path / "pack.pdf"
    call_command("build_evidence_pack", "--model-version", model_version.identifier, "--output", str(output))
    return output


def verify(path) -> str:
    from io import StringIO

    out = StringIO()
    call_command("verify_evidence_pack", str(path), stdout=out)
    return out.getvalue()


def refused(path) -> str:
    with pytest.raises(CommandError) as raised:
        verify(path)
    assert raised.value.returncode == 1
    return str(raised.value)


def test_a_pack_as_issued_verifies(pack_file) -> None:
    """The standalone verifier's offline checks first, each named as it passed, then this database's."""
    lines = verify(pack_file).splitlines()

    assert [line.split(":")[0] for line in lines[:-1]] == [f"ok  {check.name}" for check in checks_for(MANIFEST_KIND)]
    assert "Evidence pack OK" in lines[-1]


def test_a_flipped_byte_in_an_attachment_is_caught(pack_file, tmp_path) -> None:
    def flip(content: bytes) -> bytes:
        changed = bytearray(content)
        changed[len(changed) // 2] ^= 0x01
        return bytes(changed)

    tampered = tmp_path / "tampered.pdf"
    tampered.write_bytes(with_attachment_changed(pack_file.read_bytes(), "ledger.jsonl", flip))
    assert "document signature does not match the file's contents" in refused(tampered)


def test_a_changed_pack_signed_again_with_another_certificate_is_caught(pack_file, tmp_path) -> None:
    """The forger's next move: change the file, then sign it with a certificate of their own."""
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.sign import fields, signers

    from evidence import signing

    key_pem, cert_pem = signing.self_signed("Forger")
    (tmp_path / "k.pem").write_bytes(key_pem)
    (tmp_path / "c.pem").write_bytes(cert_pem)
    issued = pack_file.read_bytes()
    unsigned = issued[: issued.rindex(b"%%EOF", 0, len(issued) - 10) + 5]  # the revision before the signature
    forger = signers.SimpleSigner.load(str(tmp_path / "k.pem"), str(tmp_path / "c.pem"))
    metadata = signers.PdfSignatureMetadata(field_name=signing.SIGNATURE_FIELD, subfilter=fields.SigSeedSubFilter.PADES)
    forged = signers.sign_pdf(IncrementalPdfFileWriter(io.BytesIO(unsigned)), metadata, signer=forger).getvalue()
    tampered = tmp_path / "forged.pdf"
    tampered.write_bytes(forged)

    assert "not made with a trusted signing certificate" in refused(tampered)


def test_a_ledger_entry_edited_after_the_pack_was_built_is_caught(pack_file) -> None:
    sequence = manifest(pack_file.read_bytes())["ledger_slice"]["first_sequence"]
    entry = LedgerEntry.objects.get(sequence=sequence)
    rewritten = bytes(entry.canonical).replace(b'"action":"', b'"action":"x', 1)
    table = LedgerEntry._meta.db_table

    with triggers_lifted(table) as cursor:
        cursor.execute(f"UPDATE {table} SET canonical = %s WHERE sequence = %s", [rewritten, sequence])  # noqa: S608
    assert f"Ledger entry #{sequence} in the database differs from the pack" in refused(pack_file)


def test_a_use_case_pack_covers_every_model_version_and_verifies(world, tmp_path) -> None:
    first, second = world.model(), world.model()
    output = tmp_path / "use-case.pdf"
    call_command("build_evidence_pack", "--use-case", "support-assistant", "--output", str(output))

    listed = manifest(output.read_bytes())
    assert listed["scope"] == {"kind": "use_case", "use_case": "support-assistant", "model_version": None}
    assert first.identifier != second.identifier
    assert "Evidence pack OK" in verify(output)


def test_an_unknown_model_version_is_a_clear_error(db, tmp_path) -> None:
    with pytest.raises(CommandError, match="No model version 'nothing:9'"):
        call_command("build_evidence_pack", "--model-version", "nothing:9", "--output", str(tmp_path / "x.pdf"))
