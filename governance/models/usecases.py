from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from audit.models.base import GovernedModel
from governance.choices import EuAiActRiskTier, InternalRiskTier, RegulatedDomain, UseCaseStatus


class UseCase(GovernedModel):
    """An AI system under governance: the business process a fine-tuned model changes."""

    name = models.CharField(_("name"), max_length=200)
    slug = models.SlugField(_("slug"), max_length=80, unique=True)
    business_objective = models.TextField(_("business objective"))
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("owner"), on_delete=models.PROTECT, related_name="+"
    )
    regulated_domain = models.CharField(_("regulated domain"), max_length=30, choices=RegulatedDomain.choices)
    jurisdictions = models.JSONField(
        _("jurisdictions"), default=list, blank=True, help_text=_("ISO codes, e.g. EU, UK, US-NY")
    )
    eu_ai_act_risk_tier = models.CharField(_("EU AI Act risk tier"), max_length=20, choices=EuAiActRiskTier.choices)
    internal_risk_tier = models.CharField(_("internal risk tier"), max_length=20, choices=InternalRiskTier.choices)
    status = models.CharField(_("status"), max_length=20, choices=UseCaseStatus.choices, default=UseCaseStatus.PROPOSED)
    #: The pipeline tokens that reach this use case's records (``token.use_cases`` seen from the token). Declared
    #: here, not on the token, because identity and access sit below the domain and do not know use cases.
    pipeline_tokens = models.ManyToManyField(
        "accounts.PipelineToken",
        verbose_name=_("pipeline tokens"),
        related_name="use_cases",
        blank=True,
        db_table="governance_pipelinetoken_use_cases",
    )

    class Meta:
        verbose_name = _("use case")
        ordering = ["name"]
        indexes = [
            models.Index(fields=["status"], name="usecase_status_idx"),
            models.Index(fields=["regulated_domain"], name="usecase_domain_idx"),
            models.Index(fields=["eu_ai_act_risk_tier"], name="usecase_eu_tier_idx"),
        ]

    def __str__(self) -> str:
        return self.name
