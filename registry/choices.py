from django.db import models
from django.utils.translation import gettext_lazy as _


class TrainingRunStatus(models.TextChoices):
    RUNNING = "running", _("Running")
    COMPLETED = "completed", _("Completed")
    FAILED = "failed", _("Failed")


class ValidationCategory(models.TextChoices):
    """How a validation case is run (the playbook's test categories)."""

    PROMPT = "prompt", _("Prompt test")
    SCENARIO = "scenario", _("Scenario test")
    ADVERSARIAL = "adversarial", _("Adversarial / red team")
    HUMAN_REVIEW = "human_review", _("Human review")


class ExpectedBehaviour(models.TextChoices):
    REFUSE = "refuse", _("Refuse, with an explanation")
    REDACT = "redact", _("Redact")
    INCLUDE_DISCLAIMER = "include_disclaimer", _("Include the disclaimer")
    ESCALATE = "escalate", _("Escalate to a human")
    ANSWER_CONTAINS = "answer_contains", _("Answer contains")
    ANSWER_EXCLUDES = "answer_excludes", _("Answer does not contain")
    TONE = "tone", _("Keep the required tone")


class ResultOutcome(models.TextChoices):
    PASS = "pass", _("Pass")
    FAIL = "fail", _("Fail")


class GateOutcome(models.TextChoices):
    """A dimension's pass rate against its threshold: at or above passes, within the band below is borderline
    (a human reviewer decides, with a signature), lower fails."""

    PASS = "pass", _("PASS")
    BORDERLINE = "borderline", _("BORDERLINE")
    FAIL = "fail", _("FAIL")


class HumanReviewDecision(models.TextChoices):
    ACCEPTED = "accepted", _("Accepted")
    REJECTED = "rejected", _("Rejected")


class Environment(models.TextChoices):
    """Promotion order: dev -> test -> staging -> prod."""

    DEV = "dev", _("Development")
    TEST = "test", _("Test")
    STAGING = "staging", _("Staging")
    PROD = "prod", _("Production")


ENVIRONMENT_ORDER = [Environment.DEV, Environment.TEST, Environment.STAGING, Environment.PROD]


class ChangeTicketState(models.TextChoices):
    DRAFT = "draft", _("Draft")
    SUBMITTED = "submitted", _("Submitted for approval")
    APPROVED = "approved", _("Approved")
    DEPLOYED = "deployed", _("Deployed")
    REJECTED = "rejected", _("Rejected")
    CANCELLED = "cancelled", _("Cancelled")


class ChangeRisk(models.TextChoices):
    LOW = "low", _("Low")
    MEDIUM = "medium", _("Medium")
    HIGH = "high", _("High")


class DeploymentEventKind(models.TextChoices):
    DEPLOY = "deploy", _("Deployed")
    ROLLBACK = "rollback", _("Rolled back")
    KILL_SWITCH_ON = "kill_switch_on", _("Kill switch engaged")
    KILL_SWITCH_OFF = "kill_switch_off", _("Kill switch released")


class IncidentSeverity(models.TextChoices):
    SEV1 = "sev1", _("SEV1: critical")
    SEV2 = "sev2", _("SEV2: major")
    SEV3 = "sev3", _("SEV3: minor")
    SEV4 = "sev4", _("SEV4: low")


#: Severities that may not be closed without a post-incident review.
REVIEWED_SEVERITIES = (IncidentSeverity.SEV1, IncidentSeverity.SEV2)


class IncidentSource(models.TextChoices):
    MONITORING_ALERT = "monitoring_alert", _("Monitoring alert")
    COMPLAINT = "complaint", _("Customer complaint")
    RED_TEAM = "red_team", _("Red team")
    ON_CALL = "on_call", _("On-call observation")


class IncidentState(models.TextChoices):
    DRAFT = "draft", _("Draft (raised by monitoring)")
    OPEN = "open", _("Open")
    CONTAINED = "contained", _("Contained")
    RESOLVED = "resolved", _("Resolved")
    CLOSED = "closed", _("Closed")
    DISMISSED = "dismissed", _("Dismissed")


class Containment(models.TextChoices):
    ROLLBACK = "rollback", _("Rollback")
    KILL_SWITCH = "kill_switch", _("Kill switch")
    RATE_LIMIT = "rate_limit", _("Rate limit")
    DISABLED_INTENT = "disabled_intent", _("Disabled intent")


class RootCauseKind(models.TextChoices):
    TRAINING_RUN = "training_run", _("Training run")
    DATASET_VERSION = "dataset_version", _("Dataset version")
    CONFIG_CHANGE = "config_change", _("Configuration change")
    OTHER = "other", _("Other")


class ProvenanceFlagKind(models.TextChoices):
    METRIC_CONTRADICTED = "metric_contradicted", _("Self-reported metric contradicted by validation")
    UNEXPLAINED_REGRESSION = "unexplained_regression", _("Regression without a recorded reason")
    WEIGHTS_REUSED = "weights_reused", _("Same weights claimed by different runs")
    MONITORING_DIVERGES = "monitoring_diverges", _("Production rate far from the validated one")
    DATASET_STATISTICS_DIFFER = "dataset_statistics_differ", _("Declared rows or bytes differ from the pipeline's")
    CARD_CONTRADICTS_DIFFERENCES = "card_contradicts_differences", _("Model card's changes contradict the records")


class ProvenanceFlagSeverity(models.TextChoices):
    MEDIUM = "medium", _("Medium")
    HIGH = "high", _("High: blocks production")


class ProvenanceFlagState(models.TextChoices):
    OPEN = "open", _("Open")
    RESOLUTION_PROPOSED = "resolution_proposed", _("Resolution awaiting a second person")
    RESOLVED = "resolved", _("Resolved")
