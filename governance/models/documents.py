from django.conf import settings
from django.contrib.contenttypes.fields import GenericForeignKey
from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.utils.translation import gettext_lazy as _


class DocumentKind(models.TextChoices):
    DPIA = "dpia", _("Data protection impact assessment (DPIA)")
    REQUIREMENT = "requirement", _("Requirement attachment")
    INCIDENT_REPORT = "incident_report", _("Incident report")
    OTHER = "other", _("Other")


class Document(models.Model):
    """A file attached to a governed record (a DPIA on a dataset version, an incident report, ...).

    Uploaded documents are evidence: the row is append-only (database triggers) and the file is stored under a
    random name through the ``documents`` storage, never under a path the web server serves. A corrected file is
    a new upload that supersedes the old one; the old one stays, and its SHA-256 stays in the ledger.
    """

    content_type = models.ForeignKey(ContentType, on_delete=models.PROTECT, related_name="+")
    object_id = models.CharField(_("record id"), max_length=64)
    target = GenericForeignKey("content_type", "object_id")
    object_label = models.CharField(_("record"), max_length=300)
    kind = models.CharField(_("kind"), max_length=20, choices=DocumentKind.choices)
    description = models.CharField(_("description"), max_length=300, blank=True)
    original_filename = models.CharField(_("file name"), max_length=160)
    media_type = models.CharField(_("content type"), max_length=120, help_text=_("As detected from the content."))
    size_bytes = models.PositiveBigIntegerField(_("size (bytes)"))
    sha256 = models.CharField(_("SHA-256"), max_length=64)
    storage_name = models.CharField(_("stored as"), max_length=200, unique=True)
    supersedes = models.OneToOneField(
        "self",
        verbose_name=_("supersedes"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="superseded_by",
    )
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("uploaded by"), on_delete=models.PROTECT, related_name="+"
    )
    uploaded_at = models.DateTimeField(_("uploaded at (UTC)"), auto_now_add=True, db_index=True)

    class Meta:
        verbose_name = _("document")
        ordering = ["-uploaded_at", "-id"]
        default_permissions = ("view",)
        permissions = [
            ("view_file_document", _("Can download the file of any governed document")),
            ("attach_usecase_document", _("Can attach documents to use cases")),
            ("attach_dataset_document", _("Can attach documents (DPIAs) to dataset versions")),
            ("attach_incident_document", _("Can attach incident reports to incidents")),
        ]
        indexes = [
            models.Index(fields=["content_type", "object_id"], name="document_record_idx"),
            models.Index(fields=["kind"], name="document_kind_idx"),
        ]
        constraints = [
            models.CheckConstraint(condition=models.Q(size_bytes__gt=0), name="document_not_empty"),
            models.CheckConstraint(condition=models.Q(sha256__regex=r"^[0-9a-f]{64}$"), name="document_sha256_hex"),
            models.CheckConstraint(
                condition=~models.Q(supersedes=models.F("id")), name="document_does_not_supersede_itself"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.original_filename} ({self.get_kind_display()})"
