import re
from typing import Self

from django.conf import settings
from django.core.validators import RegexValidator
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_fsm import ConcurrentTransitionMixin, FSMField, transition
from guardian.models import UserObjectPermissionBase

from audit.models import GovernedModel, GovernedQuerySet
from lineage.choices import DatasetVersionState

REVIEW_STATES = [
    DatasetVersionState.LEGAL_REVIEW,
    DatasetVersionState.SECURITY_REVIEW,
    DatasetVersionState.COMPLIANCE_REVIEW,
]

SHA256_HEX = RegexValidator(re.compile(r"^[0-9a-f]{64}$"), _("A SHA-256 digest: 64 lowercase hexadecimal digits."))


class Dataset(GovernedModel):
    """A named body of training data (``support-chats``), of which immutable versions are approved."""

    slug = models.SlugField(_("slug"), max_length=80, unique=True)
    name = models.CharField(_("name"), max_length=200)
    description = models.TextField(_("description"), blank=True)
    steward = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("data steward"), on_delete=models.PROTECT, related_name="+"
    )
    use_case = models.ForeignKey(
        "governance.UseCase",
        verbose_name=_("use case"),
        on_delete=models.PROTECT,
        related_name="datasets",
        null=True,
        blank=True,
    )

    class Meta:
        verbose_name = _("dataset")
        ordering = ["slug"]

    def __str__(self) -> str:
        return self.slug


#: The human-readable identifier of a dataset version: the dataset's slug, ``@``, the version number.
IDENTIFIER = re.compile(r"^(?P<slug>[-a-zA-Z0-9_]+)@(?P<number>[0-9]+)$")


class DatasetVersionQuerySet(GovernedQuerySet):
    """Finds versions by the identifier people and pipelines use (``support-chats@3``): the one place that
    reads that form, so the API, the admin, the commands and the importers agree on it."""

    @staticmethod
    def split_identifier(identifier: str) -> tuple[str, int] | None:
        """``("support-chats", 3)`` for ``support-chats@3``; None for anything else (a primary key included)."""
        named = IDENTIFIER.match(identifier.strip())
        return (named["slug"], int(named["number"])) if named else None

    def filter_identifier(self, identifier: str) -> Self | None:
        """The version named ``slug@number`` (one at most), or None if ``identifier`` is not of that form."""
        named = self.split_identifier(identifier)
        return self.filter(dataset__slug=named[0], number=named[1]) if named else None

    def identified_by(self, identifier: str) -> Self:
        """The version ``identifier`` names, ``slug@number`` or a primary key; empty if it names none."""
        named = self.filter_identifier(identifier)
        if named is not None:
            return named
        value = identifier.strip()
        return self.filter(pk=int(value)) if value.isdecimal() and value.isascii() else self.none()

    def get_by_identifier(self, identifier: str) -> "DatasetVersion":
        """``slug@number`` or a primary key, with its dataset; ``DatasetVersion.DoesNotExist`` if there is none."""
        return self.select_related("dataset").identified_by(identifier).get()


class DatasetVersion(ConcurrentTransitionMixin, GovernedModel):
    """One immutable version of a dataset (``support-chats@3``): its content digest, size and provenance.

    Editable only as a draft; submitted, it goes through Legal, Security and Compliance review, each an
    electronic signature, before any training run may use it.
    """

    dataset = models.ForeignKey(Dataset, verbose_name=_("dataset"), on_delete=models.PROTECT, related_name="versions")
    number = models.PositiveIntegerField(_("version"))
    content_digest = models.CharField(_("content digest (SHA-256)"), max_length=64, validators=[SHA256_HEX])
    row_count = models.PositiveBigIntegerField(_("rows"))
    size_bytes = models.PositiveBigIntegerField(_("size (bytes)"))
    storage_uri = models.CharField(_("storage URI"), max_length=1000)
    sampling_method = models.CharField(_("sampling method"), max_length=300, blank=True)
    filters = models.TextField(_("filters"), blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("created by"), on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(_("created at (UTC)"), default=timezone.now)
    state = FSMField(
        _("state"),
        max_length=30,
        choices=DatasetVersionState.choices,
        default=DatasetVersionState.DRAFT,
        protected=True,
    )
    #: Counts the times the version went back to draft for changes; signatures bind to the content, not to it.
    revision = models.PositiveIntegerField(_("revision"), default=1)
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("submitted by"),
        on_delete=models.PROTECT,
        related_name="+",
        null=True,
        blank=True,
    )
    submitted_at = models.DateTimeField(_("submitted at (UTC)"), null=True, blank=True)

    objects = DatasetVersionQuerySet.as_manager()

    digest_exclude = ("revision", "submitted_by", "submitted_at")

    class Meta:
        verbose_name = _("dataset version")
        ordering = ["dataset_id", "-number"]
        constraints = [
            models.UniqueConstraint(fields=["dataset", "number"], name="dataset_version_unique"),
            # One version per content is the service's rule (``dataset_version_create`` refuses a second one,
            # naming the first, under the dataset's row lock), not a constraint: databases from before the rule
            # may hold such pairs, and versions are evidence, never deleted, so a constraint could not be added.
            models.CheckConstraint(condition=models.Q(number__gte=1), name="dataset_version_positive"),
        ]
        indexes = [models.Index(fields=["state"], name="dataset_version_state_idx")]
        permissions = [
            # Held per version (django-guardian), by the one reviewer assigned to that stage of that version.
            ("review_legal_datasetversion", _("Can review this dataset version at the Legal stage")),
            ("review_security_datasetversion", _("Can review this dataset version at the Security stage")),
            ("review_compliance_datasetversion", _("Can review this dataset version at the Compliance stage")),
            ("assign_reviewers_datasetversion", _("Can assign reviewers to dataset versions")),
            ("revoke_datasetversion", _("Can revoke an approved dataset version")),
        ]

    def __str__(self) -> str:
        return self.identifier

    @property
    def identifier(self) -> str:
        """The human-readable, never-reused ID: ``support-chats@3``."""
        return f"{self.dataset.slug}@{self.number}"

    @transition(field=state, source=DatasetVersionState.DRAFT, target=DatasetVersionState.LEGAL_REVIEW)
    def submit(self) -> None:
        """Frozen: from here on the version's content and lineage cannot change."""

    @transition(field=state, source=DatasetVersionState.LEGAL_REVIEW, target=DatasetVersionState.SECURITY_REVIEW)
    def approve_legal(self) -> None:
        """Legal signed: legal basis, consent and retention hold."""

    @transition(field=state, source=DatasetVersionState.SECURITY_REVIEW, target=DatasetVersionState.COMPLIANCE_REVIEW)
    def approve_security(self) -> None:
        """Security signed: sensitivity, access and PII handling hold."""

    @transition(field=state, source=DatasetVersionState.COMPLIANCE_REVIEW, target=DatasetVersionState.APPROVED)
    def approve_compliance(self) -> None:
        """Compliance signed: the version may be used for training."""

    @transition(field=state, source=REVIEW_STATES, target=DatasetVersionState.DRAFT)
    def request_changes(self) -> None:
        """Back to its authors as a new revision; the review starts again at Legal."""

    @transition(field=state, source=REVIEW_STATES, target=DatasetVersionState.REJECTED)
    def reject(self) -> None:
        """Refused for good."""

    @transition(field=state, source=DatasetVersionState.APPROVED, target=DatasetVersionState.REVOKED)
    def revoke(self) -> None:
        """No longer usable for training (erasure request, source decommissioned, legal change)."""

    @transition(
        field=state,
        source=[DatasetVersionState.APPROVED, DatasetVersionState.REVOKED],
        target=DatasetVersionState.RETIRED,
    )
    def retire(self) -> None:
        """Out of use; kept, like everything, for the record."""

    def digest_related(self) -> dict:
        record = getattr(self, "lineage", None)
        return {
            "lineage": record.digest_content() if record is not None else None,
            "parents": sorted(self.parent_edges.values_list("parent_id", flat=True)),
        }


class LineageEdge(models.Model):
    """``child`` was derived from ``parent``. The edges form a DAG; cycles are refused by the service."""

    parent = models.ForeignKey(DatasetVersion, on_delete=models.PROTECT, related_name="child_edges")
    child = models.ForeignKey(DatasetVersion, on_delete=models.PROTECT, related_name="parent_edges")

    class Meta:
        verbose_name = _("lineage edge")
        constraints = [
            models.UniqueConstraint(fields=["parent", "child"], name="lineage_edge_unique"),
            models.CheckConstraint(condition=~models.Q(parent=models.F("child")), name="lineage_edge_not_self"),
        ]
        indexes = [models.Index(fields=["child", "parent"], name="lineage_edge_child_idx")]

    def __str__(self) -> str:
        return f"{self.parent_id} -> {self.child_id}"


class DatasetVersionReviewer(UserObjectPermissionBase):
    """Who is assigned to review which version at which stage: django-guardian's direct foreign-key object
    permission table, which stays fast as versions grow (the generic table would join on text ids)."""

    # A visible reverse relation: guardian finds direct object-permission tables through it.
    content_object = models.ForeignKey(DatasetVersion, on_delete=models.CASCADE, related_name="reviewer_assignments")

    class Meta(UserObjectPermissionBase.Meta):
        verbose_name = _("assigned reviewer")
