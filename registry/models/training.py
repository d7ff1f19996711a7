import re
from typing import Self

from django.conf import settings
from django.core.validators import RegexValidator
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_fsm import ConcurrentTransitionMixin, FSMField, transition

from audit.models import GovernedModel, GovernedQuerySet
from registry.choices import TrainingRunStatus

SHA256_HEX = RegexValidator(re.compile(r"^[0-9a-f]{64}$"), _("A SHA-256 digest: 64 lowercase hexadecimal digits."))
COMMIT = RegexValidator(re.compile(r"^[0-9a-f]{7,64}$"), _("A commit hash: 7 to 64 lowercase hexadecimal digits."))


class BaseModel(GovernedModel):
    """The foundation model a fine-tuning starts from (``meta-llama / Llama-3.1-8B-Instruct 2024-07``)."""

    provider = models.CharField(_("provider"), max_length=100)
    name = models.CharField(_("name"), max_length=200)
    version = models.CharField(_("version"), max_length=100)
    licence = models.CharField(_("licence"), max_length=200)
    source_uri = models.CharField(_("source URI"), max_length=1000, blank=True)
    weights_digest = models.CharField(_("weights digest (SHA-256)"), max_length=64, blank=True, validators=[SHA256_HEX])

    class Meta:
        verbose_name = _("base model")
        ordering = ["provider", "name", "version"]
        constraints = [
            models.UniqueConstraint(fields=["provider", "name", "version"], name="base_model_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.provider}/{self.name} {self.version}"


class TrainingRun(ConcurrentTransitionMixin, GovernedModel):
    """One fine-tuning run, with everything needed to reproduce it and to explain why it was done this way.

    Registration is refused unless every dataset version it uses is approved for training with valid
    signatures; the run then keeps pointing at exactly those versions.
    """

    run_id = models.CharField(
        _("run ID"),
        max_length=100,
        unique=True,
        validators=[RegexValidator(r"^[A-Za-z0-9][A-Za-z0-9._:-]*$", _("Letters, digits and . _ : - only."))],
        help_text=_("The pipeline's own identifier (e.g. the experiment tracker's run id)."),
    )
    use_case = models.ForeignKey(
        "governance.UseCase", verbose_name=_("use case"), on_delete=models.PROTECT, related_name="training_runs"
    )
    base_model = models.ForeignKey(
        BaseModel, verbose_name=_("base model"), on_delete=models.PROTECT, related_name="training_runs"
    )
    dataset_versions = models.ManyToManyField(
        "lineage.DatasetVersion",
        verbose_name=_("dataset versions"),
        through="TrainingRunDataset",
        related_name="training_runs",
    )
    code_repository = models.CharField(_("code repository"), max_length=500)
    code_commit = models.CharField(_("code commit"), max_length=64, validators=[COMMIT])
    config = models.JSONField(_("configuration"), default=dict)
    config_hash = models.CharField(_("configuration hash (SHA-256)"), max_length=64, validators=[SHA256_HEX])
    hyperparameters = models.JSONField(_("hyperparameters"), default=dict)
    random_seeds = models.JSONField(_("random seeds"), default=dict)
    hardware = models.CharField(_("hardware"), max_length=300)
    container_image_digest = models.CharField(
        _("container image digest"),
        max_length=80,
        validators=[RegexValidator(r"^sha256:[0-9a-f]{64}$", _("sha256: followed by 64 hexadecimal digits."))],
    )
    library_versions = models.JSONField(_("library versions"), default=dict)
    checkpoints = models.JSONField(_("checkpoints"), default=list, blank=True)
    output_weights_digest = models.CharField(
        _("output weights digest (SHA-256)"), max_length=64, blank=True, validators=[SHA256_HEX]
    )
    metrics = models.JSONField(_("metrics"), default=dict, blank=True)
    decision_log = models.TextField(_("decision log"), help_text=_("Why this data, why these settings."))
    status = FSMField(
        _("status"), max_length=20, choices=TrainingRunStatus.choices, default=TrainingRunStatus.RUNNING, protected=True
    )
    started_at = models.DateTimeField(_("started at (UTC)"), default=timezone.now)
    finished_at = models.DateTimeField(_("finished at (UTC)"), null=True, blank=True)
    registered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("registered by"), on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        verbose_name = _("training run")
        ordering = ["-started_at", "-id"]
        indexes = [models.Index(fields=["use_case", "status"], name="training_run_use_case_idx")]

    def __str__(self) -> str:
        return f"run {self.run_id}"

    @transition(field=status, source=TrainingRunStatus.RUNNING, target=TrainingRunStatus.COMPLETED)
    def complete(self) -> None:
        """Finished, with its output weights digest: a model version may now be registered from it."""

    @transition(field=status, source=TrainingRunStatus.RUNNING, target=TrainingRunStatus.FAILED)
    def fail(self) -> None:
        """Finished without a usable model; kept for the record."""

    def digest_related(self) -> dict:
        return {"dataset_versions": sorted(link.dataset_version_id for link in self.dataset_links.all())}


class TrainingRunDataset(models.Model):
    """A dataset version a run trained on, with the approval state it was checked in. Written once, at
    registration (append-only table)."""

    run = models.ForeignKey(TrainingRun, on_delete=models.PROTECT, related_name="dataset_links")
    dataset_version = models.ForeignKey("lineage.DatasetVersion", on_delete=models.PROTECT, related_name="+")
    #: The content digest as approved when the run was registered: evidence that this exact data was used.
    content_digest = models.CharField(_("content digest"), max_length=64)

    class Meta:
        verbose_name = _("training data")
        verbose_name_plural = _("training data")
        constraints = [
            models.UniqueConstraint(fields=["run", "dataset_version"], name="training_run_dataset_unique"),
        ]
        indexes = [models.Index(fields=["dataset_version", "run"], name="training_data_version_idx")]

    def __str__(self) -> str:
        return f"{self.run_id} <- {self.dataset_version_id}"


#: The human-readable identifier of a model version: its name, ``:``, the version number.
IDENTIFIER = re.compile(r"^(?P<name>[-a-zA-Z0-9_]+):(?P<number>[0-9]+)$")


class ModelVersionQuerySet(GovernedQuerySet):
    """Finds versions by the identifier people and pipelines use (``support-assistant:7``): the one place that
    reads that form, so the API, the admin and the commands agree on it."""

    @staticmethod
    def split_identifier(identifier: str) -> tuple[str, int] | None:
        """``("support-assistant", 7)`` for ``support-assistant:7``; None for anything else (a primary key
        included)."""
        named = IDENTIFIER.match(identifier.strip())
        return (named["name"], int(named["number"])) if named else None

    def filter_identifier(self, identifier: str) -> Self | None:
        """The version named ``name:number`` (one at most), or None if ``identifier`` is not of that form: the
        admin's search uses it to find one version exactly and to search as usual otherwise."""
        named = self.split_identifier(identifier)
        return self.filter(name=named[0], number=named[1]) if named else None

    def identified_by(self, identifier: str) -> Self:
        """The version ``identifier`` names, ``name:number`` or a primary key; empty if it names none."""
        named = self.filter_identifier(identifier)
        if named is not None:
            return named
        value = identifier.strip()
        return self.filter(pk=int(value)) if value.isdecimal() and value.isascii() else self.none()

    def get_by_identifier(self, identifier: str) -> "ModelVersion":
        """``name:number`` or a primary key; ``ModelVersion.DoesNotExist`` if there is none."""
        return self.identified_by(identifier).get()


class ModelVersion(GovernedModel):
    """A fine-tuned model (``support-assistant:7``), produced by exactly one completed training run."""

    name = models.SlugField(_("model name"), max_length=80)
    number = models.PositiveIntegerField(_("version"))
    use_case = models.ForeignKey(
        "governance.UseCase", verbose_name=_("use case"), on_delete=models.PROTECT, related_name="model_versions"
    )
    training_run = models.OneToOneField(
        TrainingRun, verbose_name=_("training run"), on_delete=models.PROTECT, related_name="model_version"
    )
    weights_digest = models.CharField(_("weights digest (SHA-256)"), max_length=64, validators=[SHA256_HEX])
    description = models.TextField(_("description"), blank=True)
    registered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("registered by"), on_delete=models.PROTECT, related_name="+"
    )
    registered_at = models.DateTimeField(_("registered at (UTC)"), default=timezone.now)
    #: Where the version came from when it was imported from another registry (MLflow: ``models:/NAME/VERSION``);
    #: unique, so that importing again finds it instead of registering it twice.
    external_reference = models.CharField(
        _("external registry reference"),
        max_length=300,
        blank=True,
        help_text=_("The version in the registry it was imported from, e.g. models:/support-assistant/2 in MLflow."),
    )

    objects = ModelVersionQuerySet.as_manager()

    class Meta:
        verbose_name = _("model version")
        ordering = ["name", "-number"]
        constraints = [
            models.UniqueConstraint(fields=["name", "number"], name="model_version_unique"),
            models.UniqueConstraint(
                fields=["external_reference"],
                condition=~models.Q(external_reference=""),
                name="model_version_external_reference_unique",
            ),
            models.CheckConstraint(condition=models.Q(number__gte=1), name="model_version_positive"),
        ]
        permissions = [("gate_review_modelversion", _("Can sign the human review of a borderline gate"))]

    def __str__(self) -> str:
        return self.identifier

    @property
    def identifier(self) -> str:
        """The human-readable, never-reused ID: ``support-assistant:7``."""
        return f"{self.name}:{self.number}"
