from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_fsm import ConcurrentTransitionMixin, FSMField, transition

from audit.models import GovernedModel
from registry.choices import ChangeRisk, ChangeTicketState, DeploymentEventKind, Environment
from registry.ticketing import EXTERNAL_REFERENCE_PATTERN, ticket_url

#: A Jira issue key (``CHG-1234``, ``MLOPS-77``) or a ServiceNow change number (``CHG0031337``).
EXTERNAL_REFERENCE = RegexValidator(
    EXTERNAL_REFERENCE_PATTERN,
    _("A Jira key such as MLOPS-123 or a ServiceNow change number such as CHG0031337."),
)
_PERCENT = [MinValueValidator(Decimal(0)), MaxValueValidator(Decimal(100))]


class ChangeTicket(ConcurrentTransitionMixin, GovernedModel):
    """A request to promote a model version into an environment: the change-management record an auditor
    follows from the request to the deployment.

    Submitting fixes who must approve (the approval & promotion stage of the use case's RACI); each of them
    signs; the requester never may. Deploying re-checks every condition of the environment at that moment.
    """

    model_version = models.ForeignKey(
        "registry.ModelVersion", verbose_name=_("model version"), on_delete=models.PROTECT, related_name="tickets"
    )
    environment = models.CharField(_("target environment"), max_length=10, choices=Environment.choices)
    state = FSMField(
        _("state"), max_length=20, choices=ChangeTicketState.choices, default=ChangeTicketState.DRAFT, protected=True
    )
    external_reference = models.CharField(
        _("external ticket"), max_length=30, blank=True, validators=[EXTERNAL_REFERENCE]
    )
    risk_level = models.CharField(_("risk"), max_length=10, choices=ChangeRisk.choices)
    risk_assessment = models.TextField(_("risk assessment"))
    rollback_plan = models.TextField(_("rollback plan"))
    gate_decision = models.ForeignKey(
        "registry.GateDecision",
        verbose_name=_("gate decision"),
        on_delete=models.PROTECT,
        related_name="tickets",
        null=True,
        blank=True,
    )
    #: The functions that must sign, fixed from the RACI when the ticket is submitted.
    required_roles = models.JSONField(_("required approvers"), default=list, blank=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("requested by"), on_delete=models.PROTECT, related_name="+"
    )
    requested_at = models.DateTimeField(_("requested at (UTC)"), default=timezone.now)
    submitted_at = models.DateTimeField(_("submitted at (UTC)"), null=True, blank=True)
    decided_at = models.DateTimeField(_("decided at (UTC)"), null=True, blank=True)
    deployed_at = models.DateTimeField(_("deployed at (UTC)"), null=True, blank=True)
    closing_note = models.TextField(_("reason for rejection or cancellation"), blank=True)

    #: Set as approvals come in and as the ticket is decided: not part of what the approvers sign.
    digest_exclude = ("submitted_at", "decided_at", "deployed_at", "closing_note")

    class Meta:
        verbose_name = _("change ticket")
        ordering = ["-requested_at", "-id"]
        indexes = [models.Index(fields=["state", "environment"], name="ticket_state_env_idx")]
        constraints = [
            models.UniqueConstraint(
                fields=["model_version", "environment"],
                condition=models.Q(
                    state__in=[ChangeTicketState.DRAFT, ChangeTicketState.SUBMITTED, ChangeTicketState.APPROVED]
                ),
                name="ticket_one_open_per_environment",
            ),
            models.CheckConstraint(condition=~models.Q(environment=Environment.DEV), name="ticket_not_for_dev"),
        ]
        permissions = [("approve_changeticket", _("Can sign change tickets for the roles one holds"))]

    def __str__(self) -> str:
        return f"{self.identifier}: {self.model_version} to {self.environment}"

    @property
    def identifier(self) -> str:
        return f"CT-{self.pk}"

    @property
    def external_url(self) -> str:
        """The external reference's page in the ticketing tool; "" when none is configured."""
        return ticket_url(self.external_reference)

    @transition(field=state, source=ChangeTicketState.DRAFT, target=ChangeTicketState.SUBMITTED)
    def submit(self) -> None:
        """Awaiting the signatures of the required approvers."""

    @transition(field=state, source=ChangeTicketState.SUBMITTED, target=ChangeTicketState.APPROVED)
    def approve(self) -> None:
        """Every required approver has signed."""

    @transition(field=state, source=ChangeTicketState.SUBMITTED, target=ChangeTicketState.REJECTED)
    def reject(self) -> None:
        """An approver refused; a new ticket is needed."""

    @transition(
        field=state,
        source=[ChangeTicketState.DRAFT, ChangeTicketState.SUBMITTED, ChangeTicketState.APPROVED],
        target=ChangeTicketState.CANCELLED,
    )
    def cancel(self) -> None:
        """Withdrawn by its requester."""

    @transition(field=state, source=ChangeTicketState.APPROVED, target=ChangeTicketState.DEPLOYED)
    def deploy(self) -> None:
        """The version went live in the environment."""


class Deployment(GovernedModel):
    """What runs in one environment for one use case. The serving layer reads it (current version, kill
    switch); the portal changes it only through the deploy, rollback and kill-switch services."""

    use_case = models.ForeignKey(
        "governance.UseCase", verbose_name=_("use case"), on_delete=models.PROTECT, related_name="deployments"
    )
    environment = models.CharField(_("environment"), max_length=10, choices=Environment.choices)
    current_version = models.ForeignKey(
        "registry.ModelVersion",
        verbose_name=_("current version"),
        on_delete=models.PROTECT,
        related_name="+",
        null=True,
        blank=True,
    )
    previous_stable_version = models.ForeignKey(
        "registry.ModelVersion",
        verbose_name=_("previous stable version"),
        on_delete=models.PROTECT,
        related_name="+",
        null=True,
        blank=True,
    )
    kill_switch_engaged = models.BooleanField(_("kill switch engaged"), default=False)
    kill_switch_reason = models.CharField(_("kill switch reason"), max_length=500, blank=True)
    # Monitoring alert thresholds (%): a summary above any of them opens a draft incident.
    max_policy_violation_rate = models.DecimalField(
        _("alert above policy-violation rate (%)"),
        max_digits=5,
        decimal_places=2,
        default=Decimal("1"),
        validators=_PERCENT,
    )
    max_escalation_rate = models.DecimalField(
        _("alert above escalation rate (%)"), max_digits=5, decimal_places=2, default=Decimal("15"), validators=_PERCENT
    )
    max_refusal_rate = models.DecimalField(
        _("alert above refusal rate (%)"), max_digits=5, decimal_places=2, default=Decimal("10"), validators=_PERCENT
    )
    max_human_override_rate = models.DecimalField(
        _("alert above human-override rate (%)"),
        max_digits=5,
        decimal_places=2,
        default=Decimal("5"),
        validators=_PERCENT,
    )

    class Meta:
        verbose_name = _("deployment")
        ordering = ["use_case_id", "environment"]
        constraints = [
            models.UniqueConstraint(fields=["use_case", "environment"], name="deployment_unique"),
        ]
        permissions = [
            ("rollback_deployment", _("Can roll a deployment back to its previous stable version")),
            ("kill_switch_deployment", _("Can engage and release a deployment's kill switch")),
            ("deploy_dev_deployment", _("Can deploy model versions to development")),
        ]

    def __str__(self) -> str:
        return f"{self.use_case} / {self.environment}"


class DeploymentEvent(models.Model):
    """One change of what an environment serves: the deployment history. Written once (append-only table),
    beside the ledger entry of the same change."""

    deployment = models.ForeignKey(Deployment, on_delete=models.PROTECT, related_name="events")
    kind = models.CharField(_("event"), max_length=20, choices=DeploymentEventKind.choices)
    model_version = models.ForeignKey(
        "registry.ModelVersion",
        verbose_name=_("model version"),
        on_delete=models.PROTECT,
        related_name="+",
        null=True,
        blank=True,
    )
    replaced_version = models.ForeignKey(
        "registry.ModelVersion",
        verbose_name=_("replaced version"),
        on_delete=models.PROTECT,
        related_name="+",
        null=True,
        blank=True,
    )
    change_ticket = models.ForeignKey(
        ChangeTicket, verbose_name=_("change ticket"), on_delete=models.PROTECT, related_name="+", null=True, blank=True
    )
    incident = models.ForeignKey(
        "registry.Incident",
        verbose_name=_("incident"),
        on_delete=models.PROTECT,
        related_name="deployment_events",
        null=True,
        blank=True,
    )
    override = models.ForeignKey(
        "governance.BreakGlassOverride",
        verbose_name=_("break-glass override"),
        on_delete=models.PROTECT,
        related_name="+",
        null=True,
        blank=True,
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("by"), on_delete=models.PROTECT, related_name="+"
    )
    reason = models.CharField(_("reason"), max_length=500, blank=True)
    happened_at = models.DateTimeField(_("at (UTC)"), default=timezone.now)

    class Meta:
        verbose_name = _("deployment event")
        ordering = ["-happened_at", "-id"]
        indexes = [models.Index(fields=["deployment", "-happened_at"], name="deployment_event_idx")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.model_version_id or ''} at {self.happened_at:%Y-%m-%d %H:%M}"
