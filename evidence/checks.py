"""System check: evidence packs are issued signed, so production needs the evidence signing key and certificate."""

from django.core.checks import CheckMessage, Error, Tags, register


@register(Tags.security, deploy=True)
def evidence_signing_check(app_configs: object = None, **kwargs: object) -> list[CheckMessage]:
    from evidence import signing

    try:
        signing.signer()
    except signing.SigningNotConfigured as error:
        return [
            Error(
                f"Evidence packs cannot be signed: {error}",
                hint="Set EVIDENCE_SIGNING_KEY_FILE and EVIDENCE_SIGNING_CERT_FILE to the organisation's key and "
                "certificate (PEM), or run `manage.py create_signing_certificate` for a self-signed pair.",
                id="evidence.E001",
            )
        ]
    return []
