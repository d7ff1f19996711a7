"""The document signature: one PAdES signature in the pack's field, intact, made with a certificate of the trusted
list (or one chaining to it), and covering the entire file, so nothing was appended after it (an annotation, a new
title, a page swapped in an incremental update).

The certificate is judged at the time the pack was signed, not today: a pack is kept for years, and must still
verify after its signing certificate has expired (the published keys keep every certificate the portal has used,
with its validity period). That time is the signing time the signature states, inside the signed bytes (the
signature dictionary's ``/M``): the signer's clock. A signature that claims a time in the future, or a time outside
its certificate's validity, fails. An RFC 3161 timestamp, when the pack carries one, is the authority's word for
when the signature existed; it is reported beside the signer's time, and must not be earlier than it.
"""

import datetime
import io

from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from pyhanko.pdf_utils.misc import PdfError
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation import EmbeddedPdfSignature, validate_pdf_signature
from pyhanko.sign.validation.errors import SignatureValidationError
from pyhanko.sign.validation.status import SignatureCoverageLevel, TimestampSignatureStatus
from pyhanko_certvalidator import ValidationContext

from evidence_pack_verifier.formats import SIGNATURE_FIELD
from evidence_pack_verifier.pack import Pack
from evidence_pack_verifier.report import CheckFailed
from evidence_pack_verifier.trust import Trust

#: How far a signer's clock may run ahead of the verifier's before its signing time counts as in the future.
CLOCK_TOLERANCE = datetime.timedelta(minutes=5)


def _trust_roots(trust: Trust) -> list[asn1_x509.Certificate]:
    return [
        asn1_x509.Certificate.load(published.certificate.public_bytes(serialization.Encoding.DER))
        for published in trust.certificates
    ]


def check(pack: Pack, trust: Trust) -> str:
    if not trust.certificates:
        raise CheckFailed("the trusted keys list no evidence signing certificate")
    try:
        found = PdfFileReader(io.BytesIO(pack.pdf), strict=False).embedded_signatures
    except (PdfError, ValueError, KeyError, TypeError, OSError) as error:
        raise CheckFailed(f"the file is not a readable PDF ({error})") from None
    if not found:
        raise CheckFailed("the PDF carries no document signature")
    if len(found) > 1 or found[0].field_name != SIGNATURE_FIELD:
        names = ", ".join(str(signature.field_name) for signature in found)
        raise CheckFailed(f"the PDF carries other signatures than the pack's one {SIGNATURE_FIELD} ({names})")
    signed_at = _stated_signing_time(found[0])
    context = ValidationContext(trust_roots=_trust_roots(trust), moment=signed_at)
    try:
        # Anything after the signed revision is refused below, so pyHanko's analysis of such changes is not needed.
        status = validate_pdf_signature(found[0], context, skip_diff=True)
    except (PdfError, SignatureValidationError, ValueError, KeyError, TypeError, OSError) as error:
        raise CheckFailed(f"the document signature cannot be validated ({error})") from None
    if not status.intact or not status.valid:
        raise CheckFailed("the document signature does not match the file's contents (it was changed after signing)")
    signer = x509.load_der_x509_certificate(status.signing_cert.dump())
    fingerprint = signer.fingerprint(hashes.SHA256()).hex()
    described = f"signer {signer.subject.rfc4514_string()}, SHA-256 fingerprint {fingerprint}"
    if not status.trusted:
        raise CheckFailed(f"the document signature was not made with a trusted signing certificate ({described})")
    # A published certificate is a trust anchor, whose own validity path validation does not check: checked here.
    if not signer.not_valid_before_utc <= signed_at <= signer.not_valid_after_utc:
        raise CheckFailed(
            f"the document signature states a signing time, {signed_at:%Y-%m-%dT%H:%M:%SZ}, outside its "
            f"certificate's validity ({described}, valid {_validity(signer)})"
        )
    if status.coverage != SignatureCoverageLevel.ENTIRE_FILE:
        raise CheckFailed("something was appended after the document signature (an incremental update)")
    return f"PAdES over the whole file, intact; {described}{_when(signed_at, signer, status.timestamp_validity)}"


def _stated_signing_time(signature: EmbeddedPdfSignature) -> datetime.datetime:
    """When the signature says it was made; refused when it says nothing, or a time still to come."""
    stated = signature.self_reported_timestamp
    if stated is None:
        raise CheckFailed("the document signature states no signing time")
    stated = stated.astimezone(datetime.UTC)
    if stated > datetime.datetime.now(datetime.UTC) + CLOCK_TOLERANCE:
        raise CheckFailed(f"the document signature claims a signing time in the future ({stated:%Y-%m-%dT%H:%M:%SZ})")
    return stated


def _validity(certificate: x509.Certificate) -> str:
    return f"{certificate.not_valid_before_utc:%Y-%m-%d} to {certificate.not_valid_after_utc:%Y-%m-%d}"


def _when(signed_at: datetime.datetime, signer: x509.Certificate, stamp: TimestampSignatureStatus | None) -> str:
    """The signing time and whose word it is, and whether the certificate has expired since."""
    when = f", signed {signed_at:%Y-%m-%dT%H:%M:%SZ} (the signer's clock)"
    if stamp is not None:
        if stamp.timestamp < signed_at - CLOCK_TOLERANCE:
            raise CheckFailed(
                f"the signature's timestamp ({stamp.timestamp:%Y-%m-%dT%H:%M:%SZ}) is earlier than the signing time "
                f"it states ({signed_at:%Y-%m-%dT%H:%M:%SZ})"
            )
        # The trusted keys list no timestamping authority: the time is reported, and whose word it is.
        authority = "a trusted authority" if stamp.trusted else "an authority not among the trusted keys"
        when += f", timestamped {stamp.timestamp:%Y-%m-%dT%H:%M:%SZ} by {authority}"
    if signer.not_valid_after_utc < datetime.datetime.now(datetime.UTC):
        when += f"; the certificate (valid {_validity(signer)}) has expired since, and was valid when it signed"
    return when
