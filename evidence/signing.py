"""The evidence pack's document signature: PAdES over every byte of the finished PDF, made with pyHanko.

A pack exists to convince someone who does not trust the portal, so the pages, the embedded evidence and the manifest
are signed as one document with the portal's evidence signing key and its X.509 certificate: an auditor's PDF reader
(or ``verify_evidence_pack``, or any PAdES validator) then shows a changed figure on a page, a removed page, an
attachment swapped, or anything appended after the signature. The signature is added the PDF/A way (an incremental
update, nothing encrypted, nothing rewritten), so the pack stays PDF/A-3b. It is checked by the standalone verifier
(``evidence_pack_verifier.signature``), which ``evidence.verify`` runs with this portal's published certificates.

With ``TSA_URL`` set, the signature carries an RFC 3161 timestamp from that authority (PAdES B-T), which proves when it
was made independently of the portal's clock; without it the signature states its signing time (PAdES B-B).

The key and certificate come from ``EVIDENCE_SIGNING_KEY_FILE`` and ``EVIDENCE_SIGNING_CERT_FILE`` (PEM): in
production an organisation's CA-issued certificate (its chain in ``EVIDENCE_SIGNING_CHAIN_FILE``), for a pilot a
self-signed one made by ``manage.py create_signing_certificate``.
"""

import datetime
import io
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.sign import fields, signers
from pyhanko.sign.timestamps.requests_client import RequestsHTTPTimeStamper

from audit.verification_keys import record_certificate
from evidence.certificates import self_signed as self_signed  # re-exported: tests and commands make pairs

#: The signature field every pack carries (invisible: the integrity page says what it means).
SIGNATURE_FIELD = "EvidencePackSignature"


class SigningNotConfigured(ImproperlyConfigured):
    """No evidence signing key or certificate where the settings say: packs cannot be issued unsigned."""


@dataclass(frozen=True)
class SigningCertificate:
    """What the pack's integrity page and the published keys say about the certificate a pack is signed with."""

    subject: str
    sha256_fingerprint: str
    not_before: datetime.datetime
    not_after: datetime.datetime
    self_signed: bool


def _path(setting: str) -> Path:
    value = getattr(settings, setting)
    if not value:
        raise SigningNotConfigured(f"{setting} is not set: evidence packs are signed (see the README).")
    return Path(value)


def certificate() -> x509.Certificate:
    """The evidence signing certificate as configured."""
    path = _path("EVIDENCE_SIGNING_CERT_FILE")
    try:
        return x509.load_pem_x509_certificate(path.read_bytes())
    except FileNotFoundError:
        raise SigningNotConfigured(
            f"No evidence signing certificate at {path}: run `manage.py create_signing_certificate` for a "
            "self-signed one, or configure the organisation's (README, Running in production)."
        ) from None
    except ValueError as error:
        raise SigningNotConfigured(f"{path} is not a PEM certificate: {error}") from None


def describe(cert: x509.Certificate) -> SigningCertificate:
    return SigningCertificate(
        subject=cert.subject.rfc4514_string(),
        sha256_fingerprint=cert.fingerprint(hashes.SHA256()).hex(),
        not_before=cert.not_valid_before_utc,
        not_after=cert.not_valid_after_utc,
        self_signed=cert.issuer == cert.subject,
    )


def _valid_now(cert: x509.Certificate) -> None:
    """Refuses a certificate outside its validity period: a pack signed with it would fail every verifier."""
    now = datetime.datetime.now(datetime.UTC)
    if not cert.not_valid_before_utc <= now <= cert.not_valid_after_utc:
        raise SigningNotConfigured(
            f"The evidence signing certificate ({cert.subject.rfc4514_string()}) is valid only from "
            f"{cert.not_valid_before_utc:%Y-%m-%d %H:%M} to {cert.not_valid_after_utc:%Y-%m-%d %H:%M} UTC: configure "
            "a current one (README, Running in production: rotating the evidence signing certificate)."
        )


@cache
def _signer(key_file: str, cert_file: str, chain_file: str, passphrase: str) -> signers.SimpleSigner:
    signer = signers.SimpleSigner.load(
        key_file,
        cert_file,
        ca_chain_files=(chain_file,) if chain_file else None,
        key_passphrase=passphrase.encode() if passphrase else None,
    )
    if signer is None:
        raise SigningNotConfigured(f"The evidence signing key {key_file} or certificate {cert_file} cannot be read.")
    return signer


def signer() -> signers.SimpleSigner:
    _valid_now(certificate())  # the clear error first, if the certificate is missing, malformed or out of date
    return _signer(
        str(_path("EVIDENCE_SIGNING_KEY_FILE")),
        str(_path("EVIDENCE_SIGNING_CERT_FILE")),
        settings.EVIDENCE_SIGNING_CHAIN_FILE,
        settings.EVIDENCE_SIGNING_KEY_PASSPHRASE,
    )


def sign_pack(pdf: bytes) -> bytes:
    """``pdf`` with a PAdES signature over all of it, appended as an incremental update."""
    writer = IncrementalPdfFileWriter(io.BytesIO(pdf))
    metadata = signers.PdfSignatureMetadata(
        field_name=SIGNATURE_FIELD,
        md_algorithm="sha256",
        subfilter=fields.SigSeedSubFilter.PADES,
        reason="Evidence pack issued by the LLM Governance Portal",
    )
    timestamper = RequestsHTTPTimeStamper(settings.TSA_URL, timeout=30) if settings.TSA_URL else None
    signed = signers.sign_pdf(writer, metadata, signer=signer(), timestamper=timestamper)
    record_certificate(certificate())  # published for good from the first pack it signs
    return signed.getvalue()


def asn1_certificate(cert: x509.Certificate) -> asn1_x509.Certificate:
    """The certificate as pyHanko's validation takes it."""
    return asn1_x509.Certificate.load(cert.public_bytes(serialization.Encoding.DER))
