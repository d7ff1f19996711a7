"""The pack's document signature (PAdES, pyHanko): over every byte of the finished PDF, made with the configured
evidence signing certificate, still PDF/A-3b, and broken by any change to the file or anything appended to it.
Validated with pyHanko's own validator, given only the certificate as the trust root."""

import hashlib
import io

import pytest
from cryptography import x509
from django.conf import settings
from django.core.management import CommandError, call_command
from django.test import override_settings
from django.urls import reverse
from pyhanko.pdf_utils.generic import pdf_string
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.misc import PdfError
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko.sign.validation.errors import SignatureValidationError
from pyhanko.sign.validation.status import SignatureCoverageLevel
from pyhanko_certvalidator import ValidationContext
from pypdf import PdfReader

from audit import signing_keys
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
    ledger_key = hashlib.sha256(signing_keys.public_key_bytes()).hexdigest()
    assert ledger_key in pages.replace(" ", "")
    assert "/verification-keys/" in pages.replace(" ", "")


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


@pytest.fixture
def timestamping_authority(settings):
    """An RFC 3161 timestamping authority over real HTTP (pyHanko's in-process one behind a local server), with its
    own certificate; ``TSA_URL`` points at it."""
    import datetime
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    from asn1crypto import keys, tsp
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
    from pyhanko.sign.timestamps.dummy_client import DummyTimeStamper

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)  # what pyHanko's test authority signs with
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Test Timestamping Authority")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=30))
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.TIME_STAMPING]), critical=True)
        .sign(key, hashes.SHA256())
    )
    stamper = DummyTimeStamper(
        tsa_cert=signing.asn1_certificate(cert),
        tsa_key=keys.PrivateKeyInfo.load(
            key.private_bytes(
                serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            )
        ),
    )
    requests_seen: list[str] = []

    class Authority(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            requests_seen.append(self.headers["Content-Type"])
            answer = stamper.request_tsa_response(tsp.TimeStampReq.load(body)).dump()
            self.send_response(200)
            self.send_header("Content-Type", "application/timestamp-reply")
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Authority)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    settings.TSA_URL = f"http://127.0.0.1:{server.server_address[1]}/"
    yield cert, requests_seen
    server.shutdown()


def test_with_a_timestamping_authority_the_signature_carries_its_timestamp(promoted, tmp_path, timestamping_authority):
    tsa_cert, requests_seen = timestamping_authority
    output = tmp_path / "pack.pdf"
    call_command("build_evidence_pack", "--model-version", promoted.identifier, "--output", str(output))
    reader = PdfFileReader(io.BytesIO(output.read_bytes()))
    [signature] = reader.embedded_signatures
    trust = [signing.asn1_certificate(configured_certificate()), signing.asn1_certificate(tsa_cert)]

    status = validate_pdf_signature(signature, ValidationContext(trust_roots=trust))

    assert requests_seen  # pyHanko asks once to size the signature, then for the timestamp itself
    assert set(requests_seen) == {"application/timestamp-query"}
    assert status.bottom_line
    assert status.timestamp_validity is not None
    assert status.timestamp_validity.intact
    assert status.timestamp_validity.trusted


def test_a_pack_signed_before_a_certificate_rotation_still_verifies(promoted, tmp_path, client) -> None:
    first_pack = tmp_path / "first.pdf"
    call_command("build_evidence_pack", "--model-version", promoted.identifier, "--output", str(first_pack))
    key_pem, cert_pem = signing.self_signed("Rotated Portal")
    (tmp_path / "k.pem").write_bytes(key_pem)
    (tmp_path / "c.pem").write_bytes(cert_pem)

    with override_settings(
        EVIDENCE_SIGNING_KEY_FILE=str(tmp_path / "k.pem"), EVIDENCE_SIGNING_CERT_FILE=str(tmp_path / "c.pem")
    ):
        second_pack = tmp_path / "second.pdf"
        call_command("build_evidence_pack", "--model-version", promoted.identifier, "--output", str(second_pack))
        out = io.StringIO()
        call_command("verify_evidence_pack", str(first_pack), stdout=out)
        call_command("verify_evidence_pack", str(second_pack), stdout=out)
        certificates = client.get(reverse("verification_keys_json")).json()["evidence_signing_certificates"]

    assert out.getvalue().count("Evidence pack OK") == 2
    subjects = {certificate["subject"] for certificate in certificates}
    assert subjects == {
        "O=Test Portal,CN=Test Portal evidence signing",
        "O=Rotated Portal,CN=Rotated Portal evidence signing",
    }
    rotated = x509.load_pem_x509_certificate(cert_pem)
    assert signing.describe(rotated).sha256_fingerprint in {c["sha256_fingerprint"] for c in certificates}
    page = client.get(reverse("verification_keys")).content.decode()
    assert signing.describe(rotated).sha256_fingerprint in page
    assert all(certificate["valid_until"] for certificate in certificates)
