from dataclasses import dataclass

from django.db import models
from django.utils.translation import gettext_lazy as _

from accounts.choices import Role


class SourceStatus(models.TextChoices):
    ACTIVE = "active", _("Active")
    DECOMMISSIONED = "decommissioned", _("Decommissioned")


class Sensitivity(models.TextChoices):
    PUBLIC = "public", _("Public")
    INTERNAL = "internal", _("Internal")
    CONFIDENTIAL = "confidential", _("Confidential")
    RESTRICTED = "restricted", _("Restricted")


class LegalBasis(models.TextChoices):
    """GDPR Art. 6(1) lawful bases."""

    CONSENT = "consent", _("Consent (Art. 6(1)(a))")
    CONTRACT = "contract", _("Contract (Art. 6(1)(b))")
    LEGAL_OBLIGATION = "legal_obligation", _("Legal obligation (Art. 6(1)(c))")
    VITAL_INTERESTS = "vital_interests", _("Vital interests (Art. 6(1)(d))")
    PUBLIC_TASK = "public_task", _("Public task (Art. 6(1)(e))")
    LEGITIMATE_INTERESTS = "legitimate_interests", _("Legitimate interests (Art. 6(1)(f))")


class Article9Condition(models.TextChoices):
    """GDPR Art. 9(2) conditions for processing special-category data."""

    NONE = "", _("No special-category data")
    EXPLICIT_CONSENT = "explicit_consent", _("Explicit consent (Art. 9(2)(a))")
    EMPLOYMENT = "employment", _("Employment and social security (Art. 9(2)(b))")
    HEALTH_CARE = "health_care", _("Health or social care (Art. 9(2)(h))")
    PUBLIC_HEALTH = "public_health", _("Public health (Art. 9(2)(i))")
    RESEARCH = "research", _("Archiving, research or statistics (Art. 9(2)(j))")


class DataCategory(models.TextChoices):
    """Kinds of personal data a source or dataset holds."""

    CONTACT = "contact", _("Contact details")
    IDENTIFIERS = "identifiers", _("Identifiers (customer number, national ID)")
    FINANCIAL = "financial", _("Financial (balances, transactions)")
    PAYMENT_CARD = "payment_card", _("Payment card data")
    HEALTH = "health", _("Health data")
    COMMUNICATIONS = "communications", _("Communications content")
    BEHAVIOURAL = "behavioural", _("Behavioural and usage")
    BIOMETRIC = "biometric", _("Biometric")


class PrivacyControl(models.TextChoices):
    REDACTION = "redaction", _("Redaction")
    PSEUDONYMISATION = "pseudonymisation", _("Pseudonymisation")
    TOKENISATION = "tokenisation", _("Tokenisation")
    AGGREGATION = "aggregation", _("Aggregation")
    ENCRYPTION = "encryption", _("Encryption at rest")
    ACCESS_CONTROL = "access_control", _("Restricted access")
    MINIMISATION = "minimisation", _("Data minimisation")


class TransformationKind(models.TextChoices):
    FILTER = "filter", _("Filter")
    SAMPLE = "sample", _("Sample")
    REDACT = "redact", _("Redact")
    PSEUDONYMISE = "pseudonymise", _("Pseudonymise")
    TOKENISE = "tokenise", _("Tokenise")
    AGGREGATE = "aggregate", _("Aggregate")
    LABEL = "label", _("Label")
    AUGMENT = "augment", _("Augment")
    DEDUPLICATE = "deduplicate", _("Deduplicate")


class DatasetVersionState(models.TextChoices):
    """Draft -> Legal -> Security -> Compliance -> approved for training; revocable and retirable."""

    DRAFT = "draft", _("Draft")
    LEGAL_REVIEW = "legal_review", _("Legal review")
    SECURITY_REVIEW = "security_review", _("Security review")
    COMPLIANCE_REVIEW = "compliance_review", _("Compliance review")
    APPROVED = "approved", _("Approved for training")
    REJECTED = "rejected", _("Rejected")
    REVOKED = "revoked", _("Revoked")
    RETIRED = "retired", _("Retired")


class ErasureKind(models.TextChoices):
    DATA_SUBJECT = "data_subject", _("Data-subject erasure request (GDPR Art. 17)")
    SOURCE_DECOMMISSIONING = "source_decommissioning", _("Source decommissioning")
    RETENTION_CHANGE = "retention_change", _("Retention change")


class ErasureState(models.TextChoices):
    OPEN = "open", _("Open")
    PROCESSED = "processed", _("Processed")


class OpenLineageEventType(models.TextChoices):
    """The ``eventType`` of an OpenLineage RunEvent: where the reported run stands (OTHER adds facets only)."""

    START = "START", _("Started")
    RUNNING = "RUNNING", _("Running")
    COMPLETE = "COMPLETE", _("Completed")
    FAIL = "FAIL", _("Failed")
    ABORT = "ABORT", _("Aborted")
    OTHER = "OTHER", _("Other (facets only)")


@dataclass(frozen=True)
class ReviewStage:
    """One stage of a dataset version's review: its state, the role that reviews it, the per-version object
    permission the assigned reviewer holds, the meaning of the stage signature and the transition it makes."""

    state: DatasetVersionState
    role: Role
    permission: str  # codename of the per-version object permission
    meaning: str
    approve: str  # name of the transition


#: The review stages, in the order a version goes through them.
STAGES = (
    ReviewStage(
        DatasetVersionState.LEGAL_REVIEW,
        Role.LEGAL_REVIEWER,
        "review_legal_datasetversion",
        "Approved as Legal reviewer",
        "approve_legal",
    ),
    ReviewStage(
        DatasetVersionState.SECURITY_REVIEW,
        Role.SECURITY_REVIEWER,
        "review_security_datasetversion",
        "Approved as Security reviewer",
        "approve_security",
    ),
    ReviewStage(
        DatasetVersionState.COMPLIANCE_REVIEW,
        Role.COMPLIANCE_REVIEWER,
        "review_compliance_datasetversion",
        "Approved as Compliance reviewer",
        "approve_compliance",
    ),
)
STAGE_BY_STATE = {stage.state.value: stage for stage in STAGES}
