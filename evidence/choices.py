from django.db import models
from django.utils.translation import gettext_lazy as _


class PackScope(models.TextChoices):
    """What a pack covers: one model version, or everything of a use case."""

    MODEL_VERSION = "model_version", _("Model version")
    USE_CASE = "use_case", _("Use case")


class PackStatus(models.TextChoices):
    QUEUED = "queued", _("Queued")
    RENDERING = "rendering", _("Rendering")
    READY = "ready", _("Ready")
    FAILED = "failed", _("Failed")
