"""A pack is judged by the certificate's validity when it was signed, not today: it still verifies after its signing
certificate has expired, while a signature claiming a time outside that validity, or one still to come, fails. The
portal itself refuses to sign with a certificate out of date."""

import datetime
from pathlib import Path

import pytest
from cryptography import x509
from django.core.management import call_command
from django.core.management.base import SystemCheckError
from freezegun import freeze_time

from audit.verification_keys import published, record_certificate
from evidence import signing
from evidence.certificates import SELF_SIGNED_VALIDITY, self_signed
from tests.verifier.conftest import Issued, run_verifier, write_keys
from tests.verifier.forgery import signed, unsigned_revision

pytestmark = pytest.mark.django_db

NOW = datetime.datetime.now(datetime.UTC)
#: A certificate issued four years ago, expired for well over a year.
ISSUED = NOW - datetime.timedelta(days=4 * 365)
EXPIRED = ISSUED + SELF_SIGNED_VALIDITY


def certificate_from(folder: Path, issued: datetime.datetime) -> tuple[Path, Path]:
    key_pem, cert_pem = self_signed("Archived Portal", now=issued)
    (folder / "old-key.pem").write_bytes(key_pem)
    (folder / "old-cert.pem").write_bytes(cert_pem)
    record_certificate(x509.load_pem_x509_certificate(cert_pem))  # published as the portal does on first use
    return folder / "old-key.pem", folder / "old-cert.pem"


def signed_at(moment: datetime.datetime, pdf: bytes, key: Path, cert: Path, output: Path) -> Path:
    """The pack's pages signed again, with the signer's clock at ``moment``."""
    with freeze_time(moment):
        output.write_bytes(signed(unsigned_revision(pdf), key, cert))
    return output


def test_a_pack_signed_while_its_certificate_was_valid_verifies_after_it_expired(issued: Issued, tmp_path) -> None:
    key, cert = certificate_from(tmp_path, ISSUED)
    pack = signed_at(ISSUED + datetime.timedelta(days=30), issued.pdf.read_bytes(), key, cert, tmp_path / "old.pdf")

    result = run_verifier(pack, "--trust", write_keys(tmp_path / "keys.json"), cwd=tmp_path)

    assert result.returncode == 0, result.stdout
    signature_line = result.stdout.splitlines()[0]
    assert "signer O=Archived Portal" in signature_line
    assert f"signed {ISSUED + datetime.timedelta(days=30):%Y-%m-%d}" in signature_line
    assert "has expired since, and was valid when it signed" in signature_line


def test_a_signature_claiming_a_time_after_its_certificate_expired_fails(issued: Issued, tmp_path) -> None:
    key, cert = certificate_from(tmp_path, ISSUED)
    late = EXPIRED + datetime.timedelta(days=10)
    pack = signed_at(late, issued.pdf.read_bytes(), key, cert, tmp_path / "late.pdf")

    result = run_verifier(pack, "--trust", write_keys(tmp_path / "keys.json"), cwd=tmp_path)

    assert result.returncode == 1
    assert "FAILED document signature" in result.stdout
    assert f"states a signing time, {late:%Y-%m-%d}" in result.stdout
    assert "outside its certificate's validity" in result.stdout


def test_a_signature_claiming_a_time_still_to_come_fails(issued: Issued, tmp_path) -> None:
    key, cert = issued.signing_key_files
    pack = signed_at(NOW + datetime.timedelta(days=2), issued.pdf.read_bytes(), key, cert, tmp_path / "future.pdf")

    result = run_verifier(pack, "--trust", issued.keys, cwd=tmp_path)

    assert result.returncode == 1
    assert "the document signature claims a signing time in the future" in result.stdout


def test_the_portal_refuses_to_sign_with_an_expired_certificate(issued: Issued, settings, tmp_path) -> None:
    key, cert = certificate_from(tmp_path, ISSUED)
    settings.EVIDENCE_SIGNING_KEY_FILE, settings.EVIDENCE_SIGNING_CERT_FILE = str(key), str(cert)

    with pytest.raises(signing.SigningNotConfigured, match=r"is valid only from .* configure a current one"):
        signing.sign_pack(unsigned_revision(issued.pdf.read_bytes()))
    with pytest.raises(SystemCheckError, match=r"evidence\.E001"):
        call_command("check", "--deploy", "--tag", "security")


def test_the_published_keys_keep_the_expired_certificate(issued: Issued, tmp_path) -> None:
    certificate_from(tmp_path, ISSUED)

    listed = {item["subject"]: item for item in published()["evidence_signing_certificates"]}

    archived = listed["O=Archived Portal,CN=Archived Portal evidence signing"]
    assert archived["valid_until"].startswith(f"{EXPIRED:%Y-%m-%d}")
