"""The pack's document signature (PAdES, pyHanko): over every byte of the finished PDF, made with the configured
evidence signing certificate, still PDF/A-3b, and broken by any change to the file or anything appended to it.
Validated with pyHanko's own validator, given only the certificate as the trust root."""

import io

import pytest
from cryptography import x509
from django.conf import settings
from django.core.management import CommandError, call_command
from pyhanko.pdf_utils.generic import pdf_string
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.misc import PdfError
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko.sign.validation.errors import SignatureValidationError
from pyhanko.sign.validation.status import SignatureCoverageLevel
from pyhanko_certvalidator import ValidationContext
from pypdf import PdfReader

from evidence import signing
from tests.evidence.helpers import text

pytestmark = pytest.mark.django_db


@pytest.fixture
def pack_pdf(promoted, tmp_path) -> bytes:
    output = tmp_path / "pack.pdf"
    call_command("build_evidence_pack", "--model-version", promoted.identifier, "--output", str(output))
    return output.read_bytes()


def configured_certificate() -> x509.Certificate:
    with open(settings.EVIDENCE_SIGNING_CERT_FILE, "rb") as handle:
        return x509.load_pem_x509_certificate(handle.read())


def validated(pdf: bytes, trusted: x509.Certificate | None = None):
    """pyHanko's verdict on the pack's one signature, trusting only ``trusted`` (the configured certificate)."""
    reader = PdfFileReader(io.BytesIO(pdf))
    [signature] = reader.embedded_signatures
    context = ValidationContext(trust_roots=[signing.asn1_certificate(trusted or configured_certificate())])
    return signature, validate_pdf_signature(signature, context)


def test_a_pack_is_signed_over_every_byte_with_the_configured_certificate_and_stays_pdfa(pack_pdf) -> None:
    signature, status = validated(pack_pdf)

    assert status.intact
    assert status.valid
    assert status.trusted
    assert status.coverage == SignatureCoverageLevel.ENTIRE_FILE
    assert signature.field_name == signing.SIGNATURE_FIELD
    assert signature.sig_object["/SubFilter"] == "/ETSI.CAdES.detached"  # PAdES
    assert (
        status.signing_cert.sha256_fingerprint.replace(" ", "").lower()
        == signing.describe(configured_certificate()).sha256_fingerprint
    )
    reader = PdfReader(io.BytesIO(pack_pdf))
    metadata = reader.trailer["/Root"]["/Metadata"].get_object().get_data().decode()
    assert 'pdfaid:part="3"' in metadata
    assert 'pdfaid:conformance="B"' in metadata


def test_the_integrity_page_prints_the_certificates_full_fingerprint(pack_pdf) -> None:
    described = signing.describe(configured_certificate())

    pages = " ".join(text(pack_pdf).split())

    assert described.sha256_fingerprint in pages.replace(" ", "")
    assert "Test Portal evidence signing" in pages


def test_a_changed_byte_anywhere_in_the_signed_file_breaks_the_signature(pack_pdf) -> None:
    signature, _status = validated(pack_pdf)
    start, length, second_start, _second_length = signature.sig_object["/ByteRange"]
    for offset in (start + 400, start + length // 2, second_start + 10):
        tampered = bytearray(pack_pdf)
        tampered[offset] ^= 0x01
        try:
            _signature, status = validated(bytes(tampered))
        except (SignatureValidationError, PdfError, ValueError, KeyError, OSError):  # or it no longer parses
            continue
        assert not status.intact, offset


def test_anything_appended_after_the_signature_is_seen(pack_pdf) -> None:
    writer = IncrementalPdfFileWriter(io.BytesIO(pack_pdf))
    writer.root["/Lang"] = pdf_string("de")  # what a forger's "small fix" looks like
    writer.update_root()
    appended = io.BytesIO()
    writer.write(appended)

    _signature, status = validated(appended.getvalue())

    assert status.intact  # the signed revision is untouched ...
    assert status.coverage != SignatureCoverageLevel.ENTIRE_FILE  # ... but it no longer covers the file


def test_a_pack_does_not_validate_against_another_certificate(pack_pdf, tmp_path) -> None:
    _key, other = signing.self_signed("Forger")

    _signature, status = validated(pack_pdf, trusted=x509.load_pem_x509_certificate(other))

    assert status.intact
    assert not status.trusted


def test_without_a_signing_certificate_no_pack_is_issued(promoted, settings, tmp_path) -> None:
    settings.EVIDENCE_SIGNING_CERT_FILE = str(tmp_path / "missing.pem")

    with pytest.raises(signing.SigningNotConfigured, match="create_signing_certificate"):
        call_command("build_evidence_pack", "--model-version", promoted.identifier, "--output", str(tmp_path / "p"))


def test_create_signing_certificate_writes_a_pair_once_and_never_over_it(tmp_path) -> None:
    key, cert = tmp_path / "k.pem", tmp_path / "c.pem"
    out = io.StringIO()

    call_command(
        "create_signing_certificate", "--key", str(key), "--cert", str(cert), "--organisation", "Bank", stdout=out
    )
    first = cert.read_bytes()
    call_command("create_signing_certificate", "--key", str(key), "--cert", str(cert), stdout=out)

    assert cert.read_bytes() == first
    assert oct(key.stat().st_mode & 0o777) == "0o600"
    described = signing.describe(x509.load_pem_x509_certificate(first))
    assert described.subject == "O=Bank,CN=Bank evidence signing"
    assert described.self_signed
    assert described.sha256_fingerprint in out.getvalue()
    cert.unlink()
    with pytest.raises(CommandError, match="Only one of"):
        call_command("create_signing_certificate", "--key", str(key), "--cert", str(cert))


def test_check_deploy_fails_without_a_usable_signing_certificate(settings, tmp_path) -> None:
    from evidence.checks import evidence_signing_check

    assert evidence_signing_check() == []
    settings.EVIDENCE_SIGNING_CERT_FILE = str(tmp_path / "none.pem")
    [error] = evidence_signing_check()
    assert error.id == "evidence.E001"
    settings.EVIDENCE_SIGNING_CERT_FILE = ""
    assert evidence_signing_check()[0].id == "evidence.E001"
