import contextlib
from typing import Any

from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _

from audit.models import GovernedModel
from lineage.choices import Article9Condition, LegalBasis, Sensitivity, TransformationKind
from lineage.models.datasets import SHA256_HEX, DatasetVersion
from lineage.models.synthetic import SyntheticMarker, clean_languages, validate_languages


class LineageRecord(GovernedModel):
    """The lineage table of one dataset version: where it came from, on what legal basis, how sensitive it is,
    how long it may be kept, what was done to it and which policies govern it."""

    version = models.OneToOneField(
        DatasetVersion, verbose_name=_("dataset version"), on_delete=models.PROTECT, related_name="lineage"
    )
    sensitivity = models.CharField(_("sensitivity"), max_length=20, choices=Sensitivity.choices)
    data_categories = models.JSONField(_("data categories"), default=list, blank=True)
    consent_scope = models.CharField(_("consent scope"), max_length=300, blank=True)
    retention_days = models.PositiveIntegerField(_("retention (days)"), null=True, blank=True)
    retention_basis = models.CharField(_("retention basis"), max_length=300, blank=True)
    privacy_controls = models.JSONField(_("privacy controls applied"), default=list, blank=True)
    policies = models.ManyToManyField("governance.Policy", verbose_name=_("policies"), blank=True, related_name="+")
    dpia_reference = models.CharField(_("DPIA reference"), max_length=100, blank=True)
    notes = models.TextField(_("notes"), blank=True)

    _history_m2m_fields = ("policies",)

    class Meta:
        verbose_name = _("lineage record")

    def __str__(self) -> str:
        return f"Lineage of {self.version}"

    def digest_content(self) -> dict[str, Any]:
        """Everything a reviewer signs off, in a stable order."""
        return {
            "sensitivity": self.sensitivity,
            "data_categories": sorted(self.data_categories),
            "consent_scope": self.consent_scope,
            "retention_days": self.retention_days,
            "retention_basis": self.retention_basis,
            "privacy_controls": sorted(self.privacy_controls),
            "policies": sorted(self.policies.values_list("code", flat=True)),
            "dpia_reference": self.dpia_reference,
            "sources": [
                [
                    s.source_system_id,
                    s.legal_basis,
                    s.special_category,
                    s.article9_condition,
                    s.period_start,
                    s.period_end,
                    *s.described_data(),
                ]
                for s in self.sources.order_by("pk")
            ],
            "steps": [
                [
                    t.position,
                    t.kind,
                    t.tool,
                    t.code_version,
                    t.parameters,
                    t.input_digest,
                    t.output_digest,
                    *t.described_data(),
                ]
                for t in self.steps.order_by("position")
            ],
        }


class LineageSource(SyntheticMarker, GovernedModel):
    """One source system feeding the version, with its own legal basis (GDPR Art. 6) and, for special-category
    data, the Art. 9 condition; the period drawn lets erasure requests find the versions that hold a person.
    Its languages and synthetic marker say what the data is (``lineage.models.synthetic``): a language trained on
    must be one the validation suite tests."""

    record = models.ForeignKey(
        LineageRecord, verbose_name=_("lineage"), on_delete=models.PROTECT, related_name="sources"
    )
    source_system = models.ForeignKey(
        "lineage.SourceSystem", verbose_name=_("source system"), on_delete=models.PROTECT, related_name="feeds"
    )
    legal_basis = models.CharField(_("legal basis"), max_length=30, choices=LegalBasis.choices)
    special_category = models.BooleanField(_("special-category data (Art. 9)"), default=False)
    article9_condition = models.CharField(
        _("Art. 9 condition"), max_length=30, choices=Article9Condition.choices, blank=True
    )
    period_start = models.DateField(_("data from"), null=True, blank=True)
    period_end = models.DateField(_("data until"), null=True, blank=True)
    extract = models.TextField(_("extract (query or export)"), blank=True)
    languages = models.JSONField(
        _("languages"),
        default=list,
        blank=True,
        validators=[validate_languages],
        help_text=_("BCP 47 tags of the languages the data is written in, e.g. en, de-CH, zh-Hant."),
    )

    class Meta:
        verbose_name = _("lineage source")
        constraints = [
            models.UniqueConstraint(fields=["record", "source_system"], name="lineage_source_unique"),
            models.CheckConstraint(
                condition=models.Q(period_start__isnull=True)
                | models.Q(period_end__isnull=True)
                | models.Q(period_start__lte=models.F("period_end")),
                name="lineage_source_period_ordered",
            ),
            *SyntheticMarker.synthetic_constraints("lineage_source"),
        ]

    def __str__(self) -> str:
        return f"{self.source_system} ({self.get_legal_basis_display()})"

    def clean(self) -> None:
        super().clean()
        self.clean_synthetic()
        if isinstance(self.languages, list):
            with contextlib.suppress(ValidationError):  # the field's validator has said what to fix
                self.languages = clean_languages(self.languages)


class TransformationStep(SyntheticMarker, GovernedModel):
    """One step from source extract to training data, reproducible from its tool, code version and parameters.
    A step that generates data (augmentation, paraphrase, translation by a model) carries the synthetic marker."""

    record = models.ForeignKey(LineageRecord, verbose_name=_("lineage"), on_delete=models.PROTECT, related_name="steps")
    position = models.PositiveSmallIntegerField(_("position"))
    kind = models.CharField(_("kind"), max_length=20, choices=TransformationKind.choices)
    tool = models.CharField(_("tool"), max_length=200)
    code_version = models.CharField(_("code version or commit"), max_length=100)
    parameters = models.JSONField(_("parameters"), default=dict, blank=True)
    input_digest = models.CharField(_("input digest"), max_length=64, blank=True, validators=[SHA256_HEX])
    output_digest = models.CharField(_("output digest"), max_length=64, blank=True, validators=[SHA256_HEX])

    class Meta:
        verbose_name = _("transformation step")
        ordering = ["record_id", "position"]
        constraints = [
            models.UniqueConstraint(fields=["record", "position"], name="transformation_step_unique"),
            *SyntheticMarker.synthetic_constraints("transformation_step"),
        ]

    def __str__(self) -> str:
        return f"{self.position}. {self.get_kind_display()} ({self.tool})"

    def clean(self) -> None:
        super().clean()
        self.clean_synthetic()


class LineageTemplate(GovernedModel):
    """A reusable pre-fill for new versions' lineage, e.g. the playbook's support-chat extraction policy."""

    name = models.CharField(_("name"), max_length=200, unique=True)
    description = models.TextField(_("description"), blank=True)
    defaults = models.JSONField(_("defaults"), default=dict)

    class Meta:
        verbose_name = _("lineage template")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name
