from django.db import models
from django.utils.translation import gettext_lazy as _


class ResponseClassification(models.TextChoices):
    """What the serving side's runtime checks made of an answer (``portal.response_classification``)."""

    PASS = "pass", _("Passed the runtime checks")
    FAIL = "fail", _("Failed a runtime check")
    ESCALATED = "escalated", _("Escalated to a human")


class AnswerDecision(models.TextChoices):
    """What the use case's reviewer made of an escalated answer."""

    APPROVED = "approved", _("Approved as given")
    OVERRIDDEN = "overridden", _("Overridden by the reviewer")
