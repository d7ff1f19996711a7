"""Pipeline tokens: how a CI/CD or training pipeline speaks to the API, as a named service account.

A token acts as its service account (a Django user with no password and no staff flag), so the ledger names that
account for everything the pipeline does. It is limited to scopes (``runs:write``, ``gates:read`` ...) and to use
cases; the account holds the ML Engineer role and so can never approve or sign anything. Only a SHA-256 digest of
the token is stored: the token itself is shown once, when it is created.

Which use cases a token reaches is a relation the governance app declares on its ``UseCase`` (as
``pipeline_tokens``, ``token.use_cases`` from here), so that identity does not depend on the domain above it.
"""

import re

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from audit.models.base import GovernedModel

#: A request rate as the API's throttle reads it: a number of requests per second, minute, hour or day.
RATE_PATTERN = re.compile(r"[1-9][0-9]{0,8}/(s|sec|second|m|min|minute|h|hour|d|day)")


def validate_rate(value: str) -> None:
    """``600/min``, ``10/s``, ``5000/hour``, ``100000/day``."""
    if value and not RATE_PATTERN.fullmatch(value):
        raise ValidationError(
            _("Give a rate as requests per period, e.g. 600/min (periods: s, min, hour, day)."), code="invalid"
        )


class PipelineTokenScope(models.TextChoices):
    """What a token may do; each API endpoint requires one scope."""

    LINEAGE_WRITE = "lineage:write", _("Register dataset versions and their lineage")
    RUNS_WRITE = "runs:write", _("Register training runs and model versions")
    VALIDATION_WRITE = "validation:write", _("Record validation runs and evaluate gates")
    PROMOTION_REQUEST = "promotion:request", _("Request promotion (change tickets)")
    DEPLOYMENTS_READ = "deployments:read", _("Read what is deployed where")
    MONITORING_WRITE = "monitoring:write", _("Record monitoring summaries")
    INCIDENTS_WRITE = "incidents:write", _("Open incidents")
    GATES_READ = "gates:read", _("Read gate decisions and promotion checks")
    INFERENCE_WRITE = "inference:write", _("Send inference traces (OTLP spans of deployed models)")
    OSCAL_READ = "oscal:read", _("Download the use case's OSCAL component definition and assessment results")
    LEDGER_READ = "ledger:read", _("Read the whole audit ledger, in order (a SIEM's feed; every use case)")


#: Scopes that reach beyond the token's use cases: given only when named, never by "all scopes".
SCOPES_BEYOND_USE_CASES = frozenset({PipelineTokenScope.LEDGER_READ})


class PipelineToken(GovernedModel):
    """One API token of a service account, scoped to use cases and actions, with an expiry."""

    # Created by the governance app before identity and access were an app of their own: the tables keep their
    # names and the ledger's earlier entries their type.
    history_db_table = "governance_historicalpipelinetoken"
    former_ledger_labels = ("governance.pipelinetoken",)

    name = models.CharField(_("name"), max_length=100, help_text=_("What the token is for, e.g. the pipeline."))
    service_account = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("service account"),
        on_delete=models.PROTECT,
        related_name="pipeline_tokens",
    )
    scopes = models.JSONField(_("scopes"), default=list)
    prefix = models.CharField(_("prefix"), max_length=16, unique=True, help_text=_("Shown to recognise the token."))
    token_hash = models.CharField(_("token digest (SHA-256)"), max_length=64, unique=True, editable=False)
    created_at = models.DateTimeField(_("created at (UTC)"), default=timezone.now)
    created_by = models.CharField(_("created by"), max_length=200)
    expires_at = models.DateTimeField(_("expires at (UTC)"))
    revoked_at = models.DateTimeField(_("revoked at (UTC)"), null=True, blank=True)
    revoked_by = models.CharField(_("revoked by"), max_length=200, blank=True)
    revocation_reason = models.CharField(_("revocation reason"), max_length=500, blank=True)
    rate_limit = models.CharField(
        _("rate limit"),
        max_length=20,
        blank=True,
        validators=[validate_rate],
        help_text=_("Requests this token may make, e.g. 600/min; empty: the portal's default (API_TOKEN_RATE)."),
    )

    class Meta:
        db_table = "governance_pipelinetoken"
        verbose_name = _("pipeline token")
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["service_account", "-created_at"], name="pipelinetoken_account_idx")]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}...)"

    @property
    def effective_rate(self) -> str:
        """The token's own rate, or the portal's default for tokens that have none."""
        return self.rate_limit or settings.API_TOKEN_RATE

    @classmethod
    def reach_model(cls) -> type[models.Model]:
        """What a token's reach is made of (the use case), found through the relation rather than imported."""
        return cls._meta.get_field("use_cases").related_model

    def is_usable(self, now: object = None) -> bool:
        now = now or timezone.now()
        return self.revoked_at is None and self.expires_at > now


class IdempotentRequest(models.Model):
    """The first response to a POST sent with an ``Idempotency-Key``: a retry with the same key and body gets
    it again instead of creating the record twice. Not evidence (the ledger holds what was done)."""

    token = models.ForeignKey(PipelineToken, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(_("idempotency key"), max_length=200)
    request_hash = models.CharField(_("request digest (SHA-256)"), max_length=64)
    status_code = models.PositiveSmallIntegerField(_("response status"))
    response_body = models.TextField(_("response body"))
    created_at = models.DateTimeField(_("created at (UTC)"), default=timezone.now)

    class Meta:
        db_table = "governance_idempotentrequest"
        verbose_name = _("idempotent request")
        constraints = [models.UniqueConstraint(fields=["token", "key"], name="idempotent_request_unique")]

    def __str__(self) -> str:
        return self.key
