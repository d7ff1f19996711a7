"""The document signature: one PAdES signature in the pack's field, intact, made with a certificate of the trusted
list (or one chaining to it), and covering the entire file, so nothing was appended after it (an annotation, a new
title, a page swapped in an incremental update)."""

import io

from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from pyhanko.pdf_utils.misc import PdfError
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko.sign.validation.errors import SignatureValidationError
from pyhanko.sign.validation.status import SignatureCoverageLevel
from pyhanko_certvalidator import ValidationContext

from evidence_pack_verifier.formats import SIGNATURE_FIELD
from evidence_pack_verifier.pack import Pack
from evidence_pack_verifier.report import CheckFailed
from evidence_pack_verifier.trust import Trust


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
    try:
        # Anything after the signed revision is refused below, so pyHanko's analysis of such changes is not needed.
        status = validate_pdf_signature(found[0], ValidationContext(trust_roots=_trust_roots(trust)), skip_diff=True)
    except (PdfError, SignatureValidationError, ValueError, KeyError, TypeError, OSError) as error:
        raise CheckFailed(f"the document signature cannot be validated ({error})") from None
    if not status.intact or not status.valid:
        raise CheckFailed("the document signature does not match the file's contents (it was changed after signing)")
    signer = x509.load_der_x509_certificate(status.signing_cert.dump())
    fingerprint = signer.fingerprint(hashes.SHA256()).hex()
    described = f"signer {signer.subject.rfc4514_string()}, SHA-256 fingerprint {fingerprint}"
    if not status.trusted:
        raise CheckFailed(f"the document signature was not made with a trusted signing certificate ({described})")
    if status.coverage != SignatureCoverageLevel.ENTIRE_FILE:
        raise CheckFailed("something was appended after the document signature (an incremental update)")
    stamp = status.timestamp_validity
    if stamp is not None:
        # The trusted keys list no timestamping authority: the time is reported, and whose word it is.
        authority = "a trusted authority" if stamp.trusted else "an authority not among the trusted keys"
        when = f", timestamped {stamp.timestamp:%Y-%m-%dT%H:%M:%SZ} by {authority}"
    elif status.signer_reported_dt is not None:
        when = f", signed {status.signer_reported_dt:%Y-%m-%dT%H:%M:%SZ} (the signer's clock)"
    else:
        when = ""
    return f"PAdES over the whole file, intact; {described}{when}"
