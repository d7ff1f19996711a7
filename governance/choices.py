from django.db import models
from django.utils.translation import gettext_lazy as _


class RegulatedDomain(models.TextChoices):
    BANKING = "banking", _("Banking")
    PAYMENTS = "payments", _("Payments and billing")
    WEALTH = "wealth", _("Wealth management")
    INSURANCE = "insurance", _("Insurance")
    HEALTHCARE = "healthcare", _("Healthcare")
    CUSTOMER_SUPPORT = "customer_support", _("Customer support")
    HUMAN_RESOURCES = "human_resources", _("Human resources")
    OTHER = "other", _("Other")


class EuAiActRiskTier(models.TextChoices):
    """The EU AI Act's risk categories (Art. 5 prohibited practices, Art. 6 high risk, Art. 50 transparency)."""

    PROHIBITED = "prohibited", _("Prohibited")
    HIGH = "high", _("High risk")
    LIMITED = "limited", _("Limited risk (transparency obligations)")
    MINIMAL = "minimal", _("Minimal risk")


class InternalRiskTier(models.TextChoices):
    """The organisation's own model-risk tier, which sets review depth and monitoring frequency."""

    TIER_1 = "tier_1", _("Tier 1: critical")
    TIER_2 = "tier_2", _("Tier 2: high")
    TIER_3 = "tier_3", _("Tier 3: moderate")
    TIER_4 = "tier_4", _("Tier 4: low")


class UseCaseStatus(models.TextChoices):
    PROPOSED = "proposed", _("Proposed")
    ACTIVE = "active", _("Active")
    RETIRED = "retired", _("Retired")


class LifecycleStage(models.TextChoices):
    """The governed lifecycle, in order: each stage has one Accountable function in the RACI."""

    REQUIREMENTS = "requirements", _("Requirements")
    DATA = "data", _("Data sourcing & lineage")
    TRAINING = "training", _("Experimentation & training")
    EVALUATION = "evaluation", _("Evaluation & validation")
    APPROVAL = "approval", _("Approval & promotion")
    DEPLOYMENT = "deployment", _("Deployment")
    MONITORING = "monitoring", _("Monitoring & retraining")


class RaciLetter(models.TextChoices):
    RESPONSIBLE = "R", _("Responsible")
    ACCOUNTABLE = "A", _("Accountable")
    CONSULTED = "C", _("Consulted")
    INFORMED = "I", _("Informed")


class RevisionState(models.TextChoices):
    """Change control (SOC 2 CC8.1) for RACI matrices and thresholds: proposed, then approved by another."""

    PENDING = "pending", _("Pending approval")
    EFFECTIVE = "effective", _("Effective")
    SUPERSEDED = "superseded", _("Superseded")
    REJECTED = "rejected", _("Rejected")


class RequirementsState(models.TextChoices):
    DRAFT = "draft", _("Draft")
    IN_REVIEW = "in_review", _("In review")
    APPROVED = "approved", _("Approved")
    SUPERSEDED = "superseded", _("Superseded")


class ConstraintKind(models.TextChoices):
    MUST = "must", _("Must")
    MUST_NOT = "must_not", _("Must not")
    REDACT = "redact", _("Redact")
    DISCLAIMER = "disclaimer", _("Disclaimer")
    ESCALATE = "escalate", _("Escalate to a human")
    TONE = "tone", _("Tone")


class Severity(models.TextChoices):
    CRITICAL = "critical", _("Critical")
    HIGH = "high", _("High")
    MEDIUM = "medium", _("Medium")
    LOW = "low", _("Low")


class EvaluationDimension(models.TextChoices):
    FACTUALITY = "factuality", _("Factuality")
    SAFETY = "safety", _("Safety")
    BIAS_FAIRNESS = "bias_fairness", _("Bias & fairness")
    POLICY_COMPLIANCE = "policy_compliance", _("Policy compliance")
    TONE = "tone", _("Tone")
    REDACTION = "redaction", _("Redaction quality")
    DISCLAIMER = "disclaimer", _("Disclaimer usage")


class RetrainingSchedule(models.TextChoices):
    MONTHLY = "monthly", _("Monthly")
    QUARTERLY = "quarterly", _("Quarterly")
    SEMIANNUAL = "semiannual", _("Every six months")
    ANNUAL = "annual", _("Annually")
    EVENTS_ONLY = "events_only", _("Only on events")


class RetrainingTrigger(models.TextChoices):
    INCIDENT = "incident", _("Incident")
    REGULATION_CHANGE = "regulation_change", _("Regulation change")
    POLICY_CHANGE = "policy_change", _("Policy change")
    DATA_SOURCE_CHANGE = "data_source_change", _("Data-source change")
    ERASURE_REQUEST = "erasure_request", _("Erasure request")
