"""System checks for the inference keys: a pilot's keys derived from SECRET_KEY are not for production."""

from django.conf import settings
from django.core.checks import CheckMessage, Tags, Warning, register


@register(Tags.security, deploy=True)
def inference_keys_check(app_configs: object = None, **kwargs: object) -> list[CheckMessage]:
    """Keys derived from SECRET_KEY change when it is rotated, and every earlier answer could no longer be found."""
    if not getattr(settings, "INFERENCE_KEYS_DERIVED", False):
        return []
    return [
        Warning(
            "INFERENCE_HMAC_KEYS or INFERENCE_PSEUDONYM_KEY is not set: the keys for prompts, answers and end users "
            "are derived from SECRET_KEY, so rotating SECRET_KEY would stop pasted answers finding their records.",
            hint="Set INFERENCE_HMAC_KEYS (JSON: key id to secret), INFERENCE_HMAC_KEY_ID and INFERENCE_PSEUDONYM_KEY.",
            id="inference.W001",
        )
    ]
