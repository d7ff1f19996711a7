from django.db import models
from django.utils.translation import gettext_lazy as _


class WebhookEvent(models.TextChoices):
    """What a subscriber can be told about. The value is the ``event`` field of the JSON body and the
    ``X-Portal-Event`` header: receivers dispatch on it, so a value never changes once released."""

    DATASET_APPROVED = "dataset_version.approved", _("Dataset version approved for training")
    DATASET_REJECTED = "dataset_version.rejected", _("Dataset version rejected")
    DATASET_REVOKED = "dataset_version.revoked", _("Dataset version revoked")
    GATE_FAILED = "gate.failed", _("Validation gate failed")
    PROMOTION_APPROVED = "promotion.approved", _("Promotion (change ticket) approved")
    DEPLOYMENT = "deployment.deployed", _("Model version deployed")
    ROLLBACK = "deployment.rolled_back", _("Deployment rolled back")
    INCIDENT_OPENED = "incident.opened", _("Incident opened")
    LEDGER_CHECKPOINT = "ledger.checkpoint", _("Audit ledger checkpoint signed")


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    DELIVERED = "delivered", _("Delivered")
    FAILED = "failed", _("Failed")
