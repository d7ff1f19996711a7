"""Evidence packs: the PDF/A-3b an auditor takes away, with the machine-readable evidence embedded in it."""

from typing import Any

from django.conf import settings
from django.core.validators import MaxValueValidator
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from evidence.choices import PackScope, PackStatus


class PackImmutable(Exception):
    """A ready pack was about to be changed; building again makes a new pack."""


class EvidencePack(models.Model):
    """One rendering of the evidence for a scope, bound to the signed ledger checkpoint it was built against.

    Not a governed model: its progress changes many times while it renders, and those saves are not evidence.
    Its request, completion, failure and every download are written to the ledger by ``evidence.services``.
    Once ready it never changes (``save`` refuses); building again makes a new pack.
    """

    scope = models.CharField(_("scope"), max_length=20, choices=PackScope.choices)
    use_case = models.ForeignKey(
        "governance.UseCase", verbose_name=_("use case"), on_delete=models.PROTECT, related_name="evidence_packs"
    )
    model_version = models.ForeignKey(
        "registry.ModelVersion",
        verbose_name=_("model version"),
        on_delete=models.PROTECT,
        related_name="evidence_packs",
        null=True,
        blank=True,
    )
    #: Empty for packs built from the command line.
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("requested by"),
        on_delete=models.PROTECT,
        related_name="+",
        null=True,
        blank=True,
    )
    requested_at = models.DateTimeField(_("requested at (UTC)"), default=timezone.now)
    #: A retried request or task with the same key finds this pack instead of making a second one.
    idempotency_key = models.CharField(_("idempotency key"), max_length=64, unique=True)
    status = models.CharField(_("status"), max_length=12, choices=PackStatus.choices, default=PackStatus.QUEUED)
    failure_reason = models.TextField(_("failure reason"), blank=True)
    progress = models.PositiveSmallIntegerField(_("progress (%)"), default=0, validators=[MaxValueValidator(100)])
    #: Renders started since the pack was (re)queued by a person; also names the render that owns the pack now,
    #: so that a render the stuck-pack sweep gave up on cannot complete or fail it afterwards.
    attempts = models.PositiveSmallIntegerField(_("render attempts"), default=0)
    file = models.FileField(_("file"), upload_to="evidence-packs/", blank=True)
    sha256 = models.CharField(_("SHA-256"), max_length=64, blank=True)
    page_count = models.PositiveIntegerField(_("pages"), null=True, blank=True)
    checkpoint = models.ForeignKey(
        "audit.LedgerCheckpoint",
        verbose_name=_("ledger checkpoint"),
        on_delete=models.PROTECT,
        related_name="+",
        null=True,
        blank=True,
    )
    checkpoint_tree_size = models.BigIntegerField(_("checkpoint tree size"), null=True, blank=True)
    checkpoint_root = models.CharField(_("checkpoint root hash"), max_length=64, blank=True)
    checkpoint_signature = models.CharField(_("checkpoint signature (base64)"), max_length=100, blank=True)
    started_at = models.DateTimeField(_("started at (UTC)"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished at (UTC)"), null=True, blank=True)

    class Meta:
        verbose_name = _("evidence pack")
        ordering = ["-requested_at", "-id"]
        # A "view_" codename: taking a pack away is reading evidence, and the Auditor role stays read-only.
        permissions = [("view_pdf_evidencepack", _("Can download evidence pack PDFs (recorded in the ledger)"))]
        indexes = [
            models.Index(fields=["model_version", "-requested_at"], name="pack_model_version_idx"),
            models.Index(fields=["status"], name="pack_status_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(scope=PackScope.USE_CASE, model_version__isnull=True)
                | models.Q(scope=PackScope.MODEL_VERSION, model_version__isnull=False),
                name="pack_scope_consistent",
            ),
            models.CheckConstraint(condition=models.Q(status__in=PackStatus.values), name="pack_status_valid"),
            models.CheckConstraint(
                condition=~models.Q(status=PackStatus.READY)
                | (~models.Q(sha256="") & ~models.Q(file="") & models.Q(checkpoint__isnull=False)),
                name="pack_ready_is_complete",
            ),
        ]

    def __str__(self) -> str:
        return f"Evidence pack #{self.pk} for {self.scope_label}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None:
            stored = type(self).objects.filter(pk=self.pk).values_list("status", flat=True).first()
            if stored == PackStatus.READY:
                raise PackImmutable(f"Evidence pack #{self.pk} is ready and cannot change; build a new pack.")
        super().save(*args, **kwargs)

    @property
    def scope_label(self) -> str:
        if self.scope == PackScope.MODEL_VERSION and self.model_version is not None:
            return self.model_version.identifier
        return f"use case {self.use_case.slug}"
