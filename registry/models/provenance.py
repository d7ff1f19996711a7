from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_fsm import ConcurrentTransitionMixin, FSMField, transition

from audit.models import GovernedModel
from registry.choices import ProvenanceFlagKind, ProvenanceFlagSeverity, ProvenanceFlagState


class ProvenanceFlag(ConcurrentTransitionMixin, GovernedModel):
    """Two records of a model version's (or a dataset version's) provenance that disagree: raised by the checks
    in ``registry.services.provenance`` with the evidence of both sides, resolved by a person with a note (a second
    person confirms the resolution of a high-severity flag). An unresolved high flag blocks production. The
    evidence's ``records`` list names the records compared (type, id, label), which the flag's page links to."""

    model_version = models.ForeignKey(
        "registry.ModelVersion",
        verbose_name=_("model version"),
        on_delete=models.PROTECT,
        related_name="flags",
        null=True,
        blank=True,
    )
    dataset_version = models.ForeignKey(
        "lineage.DatasetVersion",
        verbose_name=_("dataset version"),
        on_delete=models.PROTECT,
        related_name="+",
        null=True,
        blank=True,
    )
    kind = models.CharField(_("contradiction"), max_length=30, choices=ProvenanceFlagKind.choices)
    severity = models.CharField(_("severity"), max_length=10, choices=ProvenanceFlagSeverity.choices)
    #: What the contradiction is about (a dimension, a digest), so a check run again raises it once.
    subject = models.CharField(_("about"), max_length=200)
    summary = models.TextField(_("what disagrees"))
    evidence = models.JSONField(_("evidence"), default=dict)
    other_model_version = models.ForeignKey(
        "registry.ModelVersion",
        verbose_name=_("the other model version"),
        on_delete=models.PROTECT,
        related_name="+",
        null=True,
        blank=True,
    )
    state = FSMField(
        _("state"), max_length=20, choices=ProvenanceFlagState.choices, default=ProvenanceFlagState.OPEN, protected=True
    )
    raised_at = models.DateTimeField(_("raised at (UTC)"), default=timezone.now)
    resolution_note = models.TextField(_("resolution note"), blank=True)
    proposed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("resolution proposed by"),
        on_delete=models.PROTECT,
        related_name="+",
        null=True,
        blank=True,
    )
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("resolved by"),
        on_delete=models.PROTECT,
        related_name="+",
        null=True,
        blank=True,
    )
    resolved_at = models.DateTimeField(_("resolved at (UTC)"), null=True, blank=True)

    class Meta:
        verbose_name = _("provenance flag")
        ordering = ["-raised_at", "-pk"]
        constraints = [
            models.UniqueConstraint(fields=["model_version", "kind", "subject"], name="provenance_flag_once"),
            models.UniqueConstraint(
                fields=["dataset_version", "kind", "subject"],
                condition=models.Q(dataset_version__isnull=False),
                name="provenance_flag_dataset_once",
            ),
            models.CheckConstraint(
                condition=models.Q(model_version__isnull=False, dataset_version__isnull=True)
                | models.Q(model_version__isnull=True, dataset_version__isnull=False),
                name="provenance_flag_one_subject",
            ),
        ]
        permissions = [("resolve_provenanceflag", _("Can resolve a provenance flag"))]

    def __str__(self) -> str:
        return f"{self.flagged_record}: {self.get_kind_display()} ({self.subject})"

    @property
    def flagged_record(self) -> object:
        """The model version or dataset version whose records disagree."""
        return self.model_version if self.model_version_id else self.dataset_version

    @transition(field=state, source=ProvenanceFlagState.OPEN, target=ProvenanceFlagState.RESOLUTION_PROPOSED)
    def propose_resolution(self) -> None:
        pass

    @transition(
        field=state,
        source=(ProvenanceFlagState.OPEN, ProvenanceFlagState.RESOLUTION_PROPOSED),
        target=ProvenanceFlagState.RESOLVED,
    )
    def resolve(self) -> None:
        pass
